// A tiny program using the installed libmediastore: stores an object on the
// local backend under the folder given as argv[1] and reads it back.
#include <mediastore/mediastore.hpp>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s MEDIA_ROOT\n", argv[0]);
    return 2;
  }
  mediastore::Config config;
  config.media_root = argv[1];
  auto store = mediastore::make_storage(config);
  if (!store.ok()) {
    std::fprintf(stderr, "make_storage: %s\n", store.status().to_string().c_str());
    return 1;
  }
  mediastore::PutOptions options;
  options.content_type = "text/plain";
  const mediastore::Status put = (*store)->put_bytes("consumer/hello.txt", "hello", options);
  if (!put.ok()) {
    std::fprintf(stderr, "put: %s\n", put.to_string().c_str());
    return 1;
  }
  auto back = (*store)->read_bytes("consumer/hello.txt");
  if (!back.ok() || *back != "hello") {
    std::fprintf(stderr, "read back failed\n");
    return 1;
  }
  if (mediastore::validate_key("../escape").ok()) return 1;
  std::printf("consumer ok: libmediastore %s, backend %s\n", mediastore::version(), (*store)->name().c_str());
  return 0;
}
