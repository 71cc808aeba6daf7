from google.rpc import status_pb2 as _status_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ScoreBatchRequest(_message.Message):
    __slots__ = ("texts", "attributes")
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedScalarFieldContainer[str]
    attributes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, texts: _Optional[_Iterable[str]] = ..., attributes: _Optional[_Iterable[str]] = ...) -> None: ...

class TextScores(_message.Message):
    __slots__ = ("scores",)
    class ScoresEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    SCORES_FIELD_NUMBER: _ClassVar[int]
    scores: _containers.ScalarMap[str, float]
    def __init__(self, scores: _Optional[_Mapping[str, float]] = ...) -> None: ...

class ScoreBatchResponse(_message.Message):
    __slots__ = ("results", "attributes", "model_version")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[TextScores]
    attributes: _containers.RepeatedScalarFieldContainer[str]
    model_version: str
    def __init__(self, results: _Optional[_Iterable[_Union[TextScores, _Mapping]]] = ..., attributes: _Optional[_Iterable[str]] = ..., model_version: _Optional[str] = ...) -> None: ...

class ScoreRequest(_message.Message):
    __slots__ = ("id", "text", "attributes")
    ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    id: str
    text: str
    attributes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., text: _Optional[str] = ..., attributes: _Optional[_Iterable[str]] = ...) -> None: ...

class ScoreResponse(_message.Message):
    __slots__ = ("id", "scores", "model_version", "error")
    class ScoresEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    id: str
    scores: _containers.ScalarMap[str, float]
    model_version: str
    error: _status_pb2.Status
    def __init__(self, id: _Optional[str] = ..., scores: _Optional[_Mapping[str, float]] = ..., model_version: _Optional[str] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ...) -> None: ...

class ListAttributesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AttributeInfo(_message.Message):
    __slots__ = ("name", "definition", "group", "languages", "supports_spans", "backend")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    SUPPORTS_SPANS_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    name: str
    definition: str
    group: str
    languages: _containers.RepeatedScalarFieldContainer[str]
    supports_spans: bool
    backend: str
    def __init__(self, name: _Optional[str] = ..., definition: _Optional[str] = ..., group: _Optional[str] = ..., languages: _Optional[_Iterable[str]] = ..., supports_spans: _Optional[bool] = ..., backend: _Optional[str] = ...) -> None: ...

class ListAttributesResponse(_message.Message):
    __slots__ = ("attributes", "model_version")
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    attributes: _containers.RepeatedCompositeFieldContainer[AttributeInfo]
    model_version: str
    def __init__(self, attributes: _Optional[_Iterable[_Union[AttributeInfo, _Mapping]]] = ..., model_version: _Optional[str] = ...) -> None: ...

class GetModelInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("model_version", "encoder", "device", "attributes", "max_batch_size", "max_queue", "max_comment_bytes", "backends", "attribute_backends", "max_batch_tokens")
    class AttributeBackendsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ENCODER_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_QUEUE_FIELD_NUMBER: _ClassVar[int]
    MAX_COMMENT_BYTES_FIELD_NUMBER: _ClassVar[int]
    BACKENDS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTE_BACKENDS_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_TOKENS_FIELD_NUMBER: _ClassVar[int]
    model_version: str
    encoder: str
    device: str
    attributes: _containers.RepeatedScalarFieldContainer[str]
    max_batch_size: int
    max_queue: int
    max_comment_bytes: int
    backends: _containers.RepeatedCompositeFieldContainer[BackendInfo]
    attribute_backends: _containers.ScalarMap[str, str]
    max_batch_tokens: int
    def __init__(self, model_version: _Optional[str] = ..., encoder: _Optional[str] = ..., device: _Optional[str] = ..., attributes: _Optional[_Iterable[str]] = ..., max_batch_size: _Optional[int] = ..., max_queue: _Optional[int] = ..., max_comment_bytes: _Optional[int] = ..., backends: _Optional[_Iterable[_Union[BackendInfo, _Mapping]]] = ..., attribute_backends: _Optional[_Mapping[str, str]] = ..., max_batch_tokens: _Optional[int] = ...) -> None: ...

class BackendInfo(_message.Message):
    __slots__ = ("kind", "model_version", "device", "attributes")
    KIND_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    kind: str
    model_version: str
    device: str
    attributes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, kind: _Optional[str] = ..., model_version: _Optional[str] = ..., device: _Optional[str] = ..., attributes: _Optional[_Iterable[str]] = ...) -> None: ...
