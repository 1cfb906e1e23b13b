// Narrow suppressions of known GCC false positives, for test code only.
// Wrap the smallest region (one TEST_CASE or function) that triggers one.
#pragma once

// GCC 12 at -O3 reports -Wrestrict "accessing 9223372036854775810 or more
// bytes ... may overlap" inside std::string's _M_replace, inlined from
// assigning a string literal to a std::string (GCC PR 105329) or from
// `"literal" + std::string&&` (GCC PR 105651). No overlap exists.
#if defined(__GNUC__) && !defined(__clang__)
#define MS_GCC_STRING_WRESTRICT_BEGIN _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wrestrict\"")
#define MS_GCC_STRING_WRESTRICT_END _Pragma("GCC diagnostic pop")
#else
#define MS_GCC_STRING_WRESTRICT_BEGIN
#define MS_GCC_STRING_WRESTRICT_END
#endif

// GCC 12 at -O3 reports -Wmaybe-uninitialized inside std::string's
// _M_replace, inlined from assigning a string literal to a std::string member
// of a default-constructed struct (GCC PR 105562: the SSO buffer is seen as
// uninitialized). The member is initialized by its constructor.
#if defined(__GNUC__) && !defined(__clang__)
#define MS_GCC_STRING_MAYBE_UNINIT_BEGIN \
  _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")
#define MS_GCC_STRING_MAYBE_UNINIT_END _Pragma("GCC diagnostic pop")
#else
#define MS_GCC_STRING_MAYBE_UNINIT_BEGIN
#define MS_GCC_STRING_MAYBE_UNINIT_END
#endif
