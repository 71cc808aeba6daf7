from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import wrappers_pb2 as _wrappers_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TextType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TEXT_TYPE_UNSPECIFIED: _ClassVar[TextType]
    PLAIN_TEXT: _ClassVar[TextType]
    HTML: _ClassVar[TextType]

class ScoreType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCORE_TYPE_UNSPECIFIED: _ClassVar[ScoreType]
    PROBABILITY: _ClassVar[ScoreType]
    STD_DEV_SCORE: _ClassVar[ScoreType]
    PERCENTILE: _ClassVar[ScoreType]
    RAW: _ClassVar[ScoreType]

class ErrorType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_TYPE_UNSPECIFIED: _ClassVar[ErrorType]
    INVALID_REQUEST: _ClassVar[ErrorType]
    COMMENT_EMPTY: _ClassVar[ErrorType]
    COMMENT_TOO_LONG: _ClassVar[ErrorType]
    NO_REQUESTED_ATTRIBUTES: _ClassVar[ErrorType]
    LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE: _ClassVar[ErrorType]
    LANGUAGE_DETECTION_FAILED: _ClassVar[ErrorType]
TEXT_TYPE_UNSPECIFIED: TextType
PLAIN_TEXT: TextType
HTML: TextType
SCORE_TYPE_UNSPECIFIED: ScoreType
PROBABILITY: ScoreType
STD_DEV_SCORE: ScoreType
PERCENTILE: ScoreType
RAW: ScoreType
ERROR_TYPE_UNSPECIFIED: ErrorType
INVALID_REQUEST: ErrorType
COMMENT_EMPTY: ErrorType
COMMENT_TOO_LONG: ErrorType
NO_REQUESTED_ATTRIBUTES: ErrorType
LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE: ErrorType
LANGUAGE_DETECTION_FAILED: ErrorType

class TextEntry(_message.Message):
    __slots__ = ("text", "type")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    text: str
    type: TextType
    def __init__(self, text: _Optional[str] = ..., type: _Optional[_Union[TextType, str]] = ...) -> None: ...

class ArticleAndParentComment(_message.Message):
    __slots__ = ("article", "parent_comment")
    ARTICLE_FIELD_NUMBER: _ClassVar[int]
    PARENT_COMMENT_FIELD_NUMBER: _ClassVar[int]
    article: TextEntry
    parent_comment: TextEntry
    def __init__(self, article: _Optional[_Union[TextEntry, _Mapping]] = ..., parent_comment: _Optional[_Union[TextEntry, _Mapping]] = ...) -> None: ...

class Context(_message.Message):
    __slots__ = ("entries", "article_and_parent_comment")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    ARTICLE_AND_PARENT_COMMENT_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[TextEntry]
    article_and_parent_comment: ArticleAndParentComment
    def __init__(self, entries: _Optional[_Iterable[_Union[TextEntry, _Mapping]]] = ..., article_and_parent_comment: _Optional[_Union[ArticleAndParentComment, _Mapping]] = ...) -> None: ...

class AttributeParameters(_message.Message):
    __slots__ = ("score_type", "score_threshold")
    SCORE_TYPE_FIELD_NUMBER: _ClassVar[int]
    SCORE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    score_type: ScoreType
    score_threshold: _wrappers_pb2.FloatValue
    def __init__(self, score_type: _Optional[_Union[ScoreType, str]] = ..., score_threshold: _Optional[_Union[_wrappers_pb2.FloatValue, _Mapping]] = ...) -> None: ...

class Score(_message.Message):
    __slots__ = ("value", "type")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    value: float
    type: ScoreType
    def __init__(self, value: _Optional[float] = ..., type: _Optional[_Union[ScoreType, str]] = ...) -> None: ...

class SpanScore(_message.Message):
    __slots__ = ("begin", "end", "score")
    BEGIN_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    begin: int
    end: int
    score: Score
    def __init__(self, begin: _Optional[int] = ..., end: _Optional[int] = ..., score: _Optional[_Union[Score, _Mapping]] = ...) -> None: ...

class AttributeScores(_message.Message):
    __slots__ = ("span_scores", "summary_score")
    SPAN_SCORES_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_SCORE_FIELD_NUMBER: _ClassVar[int]
    span_scores: _containers.RepeatedCompositeFieldContainer[SpanScore]
    summary_score: Score
    def __init__(self, span_scores: _Optional[_Iterable[_Union[SpanScore, _Mapping]]] = ..., summary_score: _Optional[_Union[Score, _Mapping]] = ...) -> None: ...

class AnalyzeCommentRequest(_message.Message):
    __slots__ = ("comment", "context", "requested_attributes", "languages", "do_not_store", "client_token", "session_id", "span_annotations", "community_id", "drop_unsupported_attributes")
    class RequestedAttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: AttributeParameters
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[AttributeParameters, _Mapping]] = ...) -> None: ...
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    DO_NOT_STORE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SPAN_ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    COMMUNITY_ID_FIELD_NUMBER: _ClassVar[int]
    DROP_UNSUPPORTED_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    comment: TextEntry
    context: Context
    requested_attributes: _containers.MessageMap[str, AttributeParameters]
    languages: _containers.RepeatedScalarFieldContainer[str]
    do_not_store: bool
    client_token: str
    session_id: str
    span_annotations: bool
    community_id: str
    drop_unsupported_attributes: bool
    def __init__(self, comment: _Optional[_Union[TextEntry, _Mapping]] = ..., context: _Optional[_Union[Context, _Mapping]] = ..., requested_attributes: _Optional[_Mapping[str, AttributeParameters]] = ..., languages: _Optional[_Iterable[str]] = ..., do_not_store: _Optional[bool] = ..., client_token: _Optional[str] = ..., session_id: _Optional[str] = ..., span_annotations: _Optional[bool] = ..., community_id: _Optional[str] = ..., drop_unsupported_attributes: _Optional[bool] = ...) -> None: ...

class AnalyzeCommentResponse(_message.Message):
    __slots__ = ("attribute_scores", "languages", "detected_languages", "client_token", "model_version")
    class AttributeScoresEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: AttributeScores
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[AttributeScores, _Mapping]] = ...) -> None: ...
    ATTRIBUTE_SCORES_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    DETECTED_LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    CLIENT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    attribute_scores: _containers.MessageMap[str, AttributeScores]
    languages: _containers.RepeatedScalarFieldContainer[str]
    detected_languages: _containers.RepeatedScalarFieldContainer[str]
    client_token: str
    model_version: str
    def __init__(self, attribute_scores: _Optional[_Mapping[str, AttributeScores]] = ..., languages: _Optional[_Iterable[str]] = ..., detected_languages: _Optional[_Iterable[str]] = ..., client_token: _Optional[str] = ..., model_version: _Optional[str] = ...) -> None: ...

class SuggestCommentScoreRequest(_message.Message):
    __slots__ = ("comment", "context", "attribute_scores", "languages", "community_id", "client_token", "session_id")
    class AttributeScoresEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: AttributeScores
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[AttributeScores, _Mapping]] = ...) -> None: ...
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTE_SCORES_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    COMMUNITY_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    comment: TextEntry
    context: Context
    attribute_scores: _containers.MessageMap[str, AttributeScores]
    languages: _containers.RepeatedScalarFieldContainer[str]
    community_id: str
    client_token: str
    session_id: str
    def __init__(self, comment: _Optional[_Union[TextEntry, _Mapping]] = ..., context: _Optional[_Union[Context, _Mapping]] = ..., attribute_scores: _Optional[_Mapping[str, AttributeScores]] = ..., languages: _Optional[_Iterable[str]] = ..., community_id: _Optional[str] = ..., client_token: _Optional[str] = ..., session_id: _Optional[str] = ...) -> None: ...

class SuggestCommentScoreResponse(_message.Message):
    __slots__ = ("detected_languages", "requested_languages", "client_token", "model_version")
    DETECTED_LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    CLIENT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    detected_languages: _containers.RepeatedScalarFieldContainer[str]
    requested_languages: _containers.RepeatedScalarFieldContainer[str]
    client_token: str
    model_version: str
    def __init__(self, detected_languages: _Optional[_Iterable[str]] = ..., requested_languages: _Optional[_Iterable[str]] = ..., client_token: _Optional[str] = ..., model_version: _Optional[str] = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("error_type", "language_not_supported_by_attribute_error")
    ERROR_TYPE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE_ERROR_FIELD_NUMBER: _ClassVar[int]
    error_type: ErrorType
    language_not_supported_by_attribute_error: LanguageNotSupportedByAttributeError
    def __init__(self, error_type: _Optional[_Union[ErrorType, str]] = ..., language_not_supported_by_attribute_error: _Optional[_Union[LanguageNotSupportedByAttributeError, _Mapping]] = ...) -> None: ...

class LanguageNotSupportedByAttributeError(_message.Message):
    __slots__ = ("detected_languages", "requested_languages", "attribute")
    DETECTED_LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTE_FIELD_NUMBER: _ClassVar[int]
    detected_languages: _containers.RepeatedScalarFieldContainer[str]
    requested_languages: _containers.RepeatedScalarFieldContainer[str]
    attribute: str
    def __init__(self, detected_languages: _Optional[_Iterable[str]] = ..., requested_languages: _Optional[_Iterable[str]] = ..., attribute: _Optional[str] = ...) -> None: ...
