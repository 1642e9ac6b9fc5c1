def handle(req):
    return req
