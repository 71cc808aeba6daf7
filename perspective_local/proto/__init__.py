"""Wire contracts (.proto files) and the stubs generated from them; a leaf package."""
