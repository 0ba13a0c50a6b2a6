"""Binance's error answers: a numeric code, a message and the HTTP status that carries them."""

from __future__ import annotations

from typing import Any

DECIMAL_RANGE = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
INTEGER_RANGE = r"^[0-9]{1,20}$"
SYMBOL_RANGE = r"^[A-Z0-9-_.]{1,20}$"
CLIENT_ORDER_ID_RANGE = r"^[\.A-Z\:/a-z0-9_-]{1,36}$"


class BinanceError(Exception):
    """A request the exchange refuses, answered as `{"code": N, "msg": "..."}`."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.status = status

    def body(self) -> dict[str, Any]:
        """Return the JSON body Binance sends for this error."""
        return {"code": self.code, "msg": self.msg}


def unknown_error() -> BinanceError:
    """Return the answer to a request that failed inside the simulator."""
    return BinanceError(-1000, "An unknown error occurred while processing the request.")


def unsupported(status: int = 404) -> BinanceError:
    """Return the answer to a path or method the simulator does not serve."""
    return BinanceError(-1020, "This operation is not supported.", status)


def body_too_large(limit: int) -> BinanceError:
    """Return the answer to a body larger than the simulator reads."""
    return BinanceError(
        -1101, f"Request body is larger than {limit} bytes; send fewer parameters.", 413
    )


def duplicate_parameter() -> BinanceError:
    """Return the answer to a parameter sent twice."""
    return BinanceError(-1101, "Duplicate values for a parameter detected.")


def illegal_chars(name: str, legal_range: str) -> BinanceError:
    """Return the answer to a parameter whose value has the wrong form."""
    return BinanceError(
        -1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal_range}'."
    )


def mandatory_missing(name: str) -> BinanceError:
    """Return the answer to a mandatory parameter that was not sent or is empty."""
    return BinanceError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def one_of_missing(first: str, second: str) -> BinanceError:
    """Return the answer to a request that must carry one of two parameters and has neither."""
    return BinanceError(
        -1102, f"Param '{first}' or '{second}' must be sent, but both were empty/null!"
    )


def unread_parameters(read: int, sent: int) -> BinanceError:
    """Return the answer to a request carrying parameters the endpoint does not take."""
    return BinanceError(
        -1104,
        f"Not all sent parameters were read; read '{read}' parameter(s) but was sent '{sent}'.",
    )


def empty_parameter(name: str) -> BinanceError:
    """Return the answer to an optional parameter sent with an empty value."""
    return BinanceError(-1105, f"Parameter '{name}' was empty.")


def not_required(name: str) -> BinanceError:
    """Return the answer to a parameter that this kind of order does not take."""
    return BinanceError(-1106, f"Parameter '{name}' sent when not required.")


def too_much_precision(name: str) -> BinanceError:
    """Return the answer to an amount with more decimals than an asset has."""
    return BinanceError(-1111, f"Parameter '{name}' has too much precision.")


def invalid_value(name: str) -> BinanceError:
    """Return the answer to a parameter whose value is well formed but not accepted."""
    return BinanceError(-1130, f"Data sent for parameter '{name}' is not valid.")


def invalid_symbol() -> BinanceError:
    """Return the answer to a symbol the exchange does not list."""
    return BinanceError(-1121, "Invalid symbol.")


def filter_failure(filter_type: str) -> BinanceError:
    """Return the answer to an order that breaks one of the symbol's filters."""
    return BinanceError(-1013, f"Filter failure: {filter_type}")


def order_rejected(msg: str) -> BinanceError:
    """Return the matching engine's refusal of a new order."""
    return BinanceError(-2010, msg)


def insufficient_balance() -> BinanceError:
    """Return the refusal of an order the account cannot pay for."""
    return order_rejected("Account has insufficient balance for requested action.")


def unknown_order_cancel() -> BinanceError:
    """Return the refusal to cancel an order that is not open."""
    return BinanceError(-2011, "Unknown order sent.")


def no_such_order() -> BinanceError:
    """Return the answer to a query for an order the account never placed."""
    return BinanceError(-2013, "Order does not exist.")


def bad_api_key_format() -> BinanceError:
    """Return the answer to a signed request without a well-formed API key."""
    return BinanceError(-2014, "API-key format invalid.", 401)


def rejected_api_key() -> BinanceError:
    """Return the answer to an API key the exchange does not know."""
    return BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)


def invalid_signature() -> BinanceError:
    """Return the answer to a signature that does not verify."""
    return BinanceError(-1022, "Signature for this request is not valid.")


def outside_recv_window() -> BinanceError:
    """Return the answer to a timestamp older than the request's receive window."""
    return BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")


def timestamp_ahead(limit_ms: int) -> BinanceError:
    """Return the answer to a timestamp ahead of the server clock."""
    return BinanceError(
        -1021, f"Timestamp for this request was {limit_ms}ms ahead of the server's time."
    )


def bad_recv_window(limit_ms: int) -> BinanceError:
    """Return the answer to a receive window longer than the exchange allows."""
    return BinanceError(-1131, f"recvWindow must be less than {limit_ms}.")
