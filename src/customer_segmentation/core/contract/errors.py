"""The data contract's one error: the input cannot be read as a customer table."""


class CustomerDataError(ValueError):
    """The input cannot be read as a customer table; the message says where and why."""
