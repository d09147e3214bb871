#pragma once
// http_syntax: the few RFC 9110 rules that hit checks in what users give it for a request
// (-X and -H on the command line, the lines of a --targets file), one place for each rule so
// the command line and the targets file accept the same methods and headers.
//
// Pure functions of their argument; any thread.

#include <string_view>

namespace hit::cli {

// RFC 9110 5.6.2: a token (a method, a header name) is one or more of letters, digits and
// !#$%&'*+-.^_`|~.
[[nodiscard]] bool is_token(std::string_view s);

// RFC 9110 5.5: a field value has no control byte but horizontal tab (no CR, LF or NUL: those
// would end the header early and let the rest be read as another request).
[[nodiscard]] bool is_field_value(std::string_view s);

// Content-Length and Transfer-Encoding (any case): hit frames each request's body itself, so a
// user's copy of these would contradict the body it sends.
[[nodiscard]] bool is_framing_header(std::string_view name);

}  // namespace hit::cli
