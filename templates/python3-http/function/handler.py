def handle(event, context):
    """Handle one HTTP request.

    event.body is bytes; event.headers, event.method, event.query and
    event.path describe the rest of the request. context.hostname is the
    container's hostname.

    Return a dict such as {"statusCode": 200, "body": ..., "headers": {...}}.
    A dict or list body is sent as JSON, anything else as text.
    """
    return {
        "statusCode": 200,
        "body": "Hello from OpenFaaS!",
    }
