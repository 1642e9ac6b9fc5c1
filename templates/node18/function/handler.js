'use strict';

// event:   { body, headers, method, query, path }
// context: status(code), headers({...}), succeed(value), fail(error)
// The value passed to succeed() (or returned) is the response body; objects
// and arrays are sent as JSON.
module.exports = async (event, context) => {
  const result = {
    body: event.body,
    'content-type': event.headers['content-type'],
  };

  return context
    .status(200)
    .succeed(result);
};
