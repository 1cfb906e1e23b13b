// Symbol visibility for the C++ API of libmediastore.
//
// The library is built with hidden visibility by default; every public class
// and free function carries MS_API so that it, and only it, is exported.
#pragma once

#if defined(MEDIASTORE_STATIC)
#define MS_API
#elif defined(_WIN32)
#if defined(MEDIASTORE_BUILDING)
#define MS_API __declspec(dllexport)
#else
#define MS_API __declspec(dllimport)
#endif
#else
// The standard attribute form, so that it can follow [[nodiscard]] in
// `class [[nodiscard]] MS_API Status` (GCC refuses __attribute__ there).
#define MS_API [[gnu::visibility("default")]]
#endif
