// libFuzzer target for the S3 XML answer parsers: every parser sees the same
// arbitrary bytes. Must never crash, hang or leak; any answer is fine.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "s3/xml.hpp"

using namespace mediastore::s3;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  // Only crashes matter to the fuzzer: results are dropped.
  (void)parse_error(in);
  (void)parse_list_objects_v2(in);
  (void)parse_initiate_multipart(in);
  (void)parse_complete_multipart(in);
  (void)parse_list_parts(in);
  (void)parse_list_multipart_uploads(in);
  (void)parse_delete_result(in);
  (void)parse_copy_result(in);
  (void)parse_iso8601(in);
  (void)parse_http_date(in);
  (void)unquote_etag(in);
  // The builders' escaping must accept anything too.
  (void)build_delete_objects({std::string(in)});
  return 0;
}
