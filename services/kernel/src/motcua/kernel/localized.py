"""Error messages for people, in Vietnamese and English: google.rpc.LocalizedMessage.

Every error keeps its developer message (English, precise, naming fields and ids); beside it,
a LocalizedMessage a client can show its user as is, in the language the caller asked for
(`accept-language`, the HTTP header the gateway passes on as gRPC metadata; Vietnamese when
none is asked for, the province's language). One catalogue for the common errors, by the
ErrorInfo reason when there is a more telling entry for it, else by the status code, so no
call site writes its own translations.
"""

from __future__ import annotations

from collections.abc import Iterable

from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

VIETNAMESE = "vi-VN"
ENGLISH = "en"
DEFAULT_LOCALE = VIETNAMESE
ACCEPT_LANGUAGE = "accept-language"

# (Vietnamese, English), by ErrorInfo reason or gRPC status name.
CATALOGUE: dict[str, tuple[str, str]] = {
    "INVALID_ARGUMENT": ("Thông tin gửi lên chưa hợp lệ; vui lòng kiểm tra các trường được nêu.",
                         "Some of the information sent is not valid; please check the fields named."),
    "NOT_FOUND": ("Không tìm thấy nội dung được yêu cầu.", "What was asked for was not found."),
    "ALREADY_EXISTS": ("Nội dung này đã tồn tại.", "This already exists."),
    "PERMISSION_DENIED": ("Bạn không có quyền thực hiện thao tác này.", "You are not allowed to do this."),
    "UNAUTHENTICATED": ("Vui lòng đăng nhập để tiếp tục.", "Please sign in to continue."),
    "FAILED_PRECONDITION": ("Không thể thực hiện thao tác ở trạng thái hiện tại.",
                            "This cannot be done in the current state."),
    "INVALID_TRANSITION": ("Không thể thực hiện thao tác ở trạng thái hiện tại của hồ sơ.",
                           "This cannot be done in the record's current state."),
    "ABORTED": ("Nội dung đã được người khác thay đổi; vui lòng tải lại rồi thử lại.",
                "Someone else changed this meanwhile; please reload and try again."),
    "VERSION_CONFLICT": ("Nội dung đã được người khác thay đổi; vui lòng tải lại rồi thử lại.",
                         "Someone else changed this meanwhile; please reload and try again."),
    "PRECONDITION_FAILED": ("Nội dung đã thay đổi kể từ lần bạn xem; vui lòng tải lại rồi thử lại.",
                            "This changed since you read it; please reload and try again."),
    "RESOURCE_EXHAUSTED": ("Đã vượt quá giới hạn cho phép.", "A limit was reached."),
    "LIMIT_EXCEEDED": ("Đã đạt giới hạn cho phép; vui lòng hoàn tất hoặc xoá bớt trước khi tạo thêm.",
                       "A limit was reached; please finish or remove some before adding more."),
    "THROTTLED": ("Bạn đã gửi quá nhiều yêu cầu; vui lòng thử lại sau ít phút.",
                  "Too many requests; please try again in a few minutes."),
    "UNAVAILABLE": ("Hệ thống tạm thời không phản hồi; vui lòng thử lại sau.",
                    "The service is unavailable for now; please try again later."),
    "DEADLINE_EXCEEDED": ("Hệ thống phản hồi quá chậm; vui lòng thử lại sau.",
                          "The service took too long to answer; please try again later."),
    "UNIMPLEMENTED": ("Thao tác này chưa được hỗ trợ.", "This operation is not supported."),
    "CANCELLED": ("Yêu cầu đã bị huỷ.", "The request was cancelled."),
    "INTERNAL": ("Đã có lỗi xảy ra; vui lòng thử lại sau.", "Something went wrong; please try again later."),
    "UNKNOWN": ("Đã có lỗi xảy ra; vui lòng thử lại sau.", "Something went wrong; please try again later."),
}
_FALLBACK = CATALOGUE["UNKNOWN"]


def choose_locale(accept_language: str | None) -> str:
    """vi-VN or en, whichever the Accept-Language ranks first (by q-value, then order); vi-VN
    when it names neither."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        language = tag.strip().lower().split("-")[0]
        if language in ("vi", "en") and quality > 0:
            ranked.append((-quality, index, VIETNAMESE if language == "vi" else ENGLISH))
    return min(ranked)[2] if ranked else DEFAULT_LOCALE


def locale_of_metadata(metadata: Iterable[tuple[str, str | bytes]] | None) -> str:
    value = next((v for k, v in metadata or () if k == ACCEPT_LANGUAGE and isinstance(v, str)), None)
    return choose_locale(value)


def localized_message(key: str, locale: str) -> error_details_pb2.LocalizedMessage:
    vietnamese, english = CATALOGUE.get(key, _FALLBACK)
    return error_details_pb2.LocalizedMessage(locale=locale, message=vietnamese if locale == VIETNAMESE else english)


def catalogue_key(status_name: str, details: Iterable[any_pb2.Any]) -> str:
    """The catalogue entry for an error: its ErrorInfo reason when the catalogue has one."""
    for item in details:
        if item.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            item.Unpack(info)
            if info.reason in CATALOGUE:
                return str(info.reason)
    return status_name


def has_localized(details: Iterable[any_pb2.Any]) -> bool:
    return any(item.Is(error_details_pb2.LocalizedMessage.DESCRIPTOR) for item in details)


def localize(status: status_pb2.Status, status_name: str, locale: str) -> status_pb2.Status:
    """The status with a LocalizedMessage in ``locale`` added, unless it has one already."""
    if has_localized(status.details):
        return status
    detail = any_pb2.Any()
    detail.Pack(localized_message(catalogue_key(status_name, status.details), locale))
    status.details.append(detail)
    return status
