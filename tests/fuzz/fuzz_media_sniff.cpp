// Type detection on arbitrary bytes: sniffing, the markup and archive
// scanners used for polyglots, and the type tables.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "media/sniff.hpp"
#include "mediastore/media.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  mediastore::MediaType t = mediastore::sniff_media_type(in);
  // Only crashes matter to the fuzzer: results are dropped.
  (void)mediastore::media_type_mime(t);
  (void)mediastore::media_type_description(t);
  (void)mediastore::media_type_extension(t);
  (void)mediastore::detail::find_active_markup(in);
  (void)mediastore::detail::find_embedded_archive(in);
  return 0;
}
