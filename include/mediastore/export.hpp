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
#define MS_API __attribute__((visibility("default")))
#endif
