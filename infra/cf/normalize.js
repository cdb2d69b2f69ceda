// CloudFront viewer-request function (cloudfront-js-2.0). API Gateway
// routes are case-sensitive, but Cryptolens clients send paths in many
// spellings (/api/Key/Activate, /api//key/activate/, /API/AI/RegisterEvent).
// This collapses repeated slashes, drops one trailing slash and lower-cases
// the /api/<group>/<method> part; /admin paths only lose extra slashes.
// The query string is left untouched.
function handler(event) {
  var request = event.request;
  var uri = request.uri.replace(/\/{2,}/g, '/');
  if (uri.length > 1 && uri.charAt(uri.length - 1) === '/') {
    uri = uri.substring(0, uri.length - 1);
  }
  if (/^\/api\//i.test(uri) || uri.toLowerCase() === '/api') {
    uri = uri.toLowerCase();
  }
  request.uri = uri;
  return request;
}
