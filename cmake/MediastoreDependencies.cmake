# Every dependency is a Debian package (scripts/install-deps.sh installs them).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
pkg_check_modules(OPENSSL REQUIRED IMPORTED_TARGET libssl libcrypto)
pkg_check_modules(TINYXML2 REQUIRED IMPORTED_TARGET tinyxml2)
pkg_check_modules(FMT REQUIRED IMPORTED_TARGET fmt)
pkg_check_modules(TURBOJPEG REQUIRED IMPORTED_TARGET libturbojpeg)
pkg_check_modules(JPEG REQUIRED IMPORTED_TARGET libjpeg)
pkg_check_modules(WEBP REQUIRED IMPORTED_TARGET libwebp libwebpdemux)
pkg_check_modules(HEIF REQUIRED IMPORTED_TARGET libheif)
pkg_check_modules(LCMS2 REQUIRED IMPORTED_TARGET lcms2)
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
# FFmpeg's libraries (Debian 12: FFmpeg 5.1) for video probing and poster frames.
pkg_check_modules(FFMPEG REQUIRED IMPORTED_TARGET libavformat libavcodec libswscale libavutil)

find_path(STB_INCLUDE_DIR stb_image.h PATH_SUFFIXES stb REQUIRED)
find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)
find_path(NLOHMANN_JSON_INCLUDE_DIR nlohmann/json.hpp REQUIRED)
find_path(DOCTEST_INCLUDE_DIR doctest/doctest.h REQUIRED)

# What the library's own code compiles and links against.
add_library(ms_deps INTERFACE)
target_include_directories(ms_deps INTERFACE ${STB_INCLUDE_DIR})
target_link_libraries(ms_deps INTERFACE
  PkgConfig::CURL PkgConfig::OPENSSL PkgConfig::TINYXML2 PkgConfig::FMT PkgConfig::TURBOJPEG PkgConfig::JPEG
  PkgConfig::WEBP PkgConfig::HEIF PkgConfig::LCMS2 PkgConfig::SQLITE3 PkgConfig::HIREDIS PkgConfig::FFMPEG Threads::Threads)
# For mediastore.pc
set(MEDIASTORE_PC_REQUIRES_PRIVATE "libcurl libssl libcrypto tinyxml2 fmt libturbojpeg libjpeg libwebp libwebpdemux libheif lcms2 sqlite3 hiredis libavformat libavcodec libswscale libavutil")
