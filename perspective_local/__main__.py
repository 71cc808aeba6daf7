from perspective_local.cli import main

main()
