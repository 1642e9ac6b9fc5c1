"""Code every order-pipeline function shares: copied into each function's build context as
`function/common/` by the stack's `configuration.copy`."""
