#include "upload/dedup_index.hpp"

#include <fmt/format.h>

#include "core/crypto.hpp"

namespace mediastore::detail {
namespace {

// Length-prefixed parts, so ("a", "bc") and ("ab", "c") never hash alike.
std::string digest_of(std::initializer_list<const std::string*> parts) {
  std::string joined;
  for (const std::string* p : parts) {
    joined += std::to_string(p->size());
    joined += ':';
    joined += *p;
  }
  return hex_lower(sha256(joined));
}

}  // namespace

std::string dedup_scope_digest(const std::string& scope_key, const std::string& scope_value) {
  return digest_of({&scope_key, &scope_value});
}

std::string dedup_claim_id(const std::string& scope_key, const std::string& scope_value, const std::string& sha256,
                           int generation) {
  return fmt::format("dup.{}.{}", digest_of({&scope_key, &scope_value, &sha256}), generation);
}

std::string scope_index_state(const std::string& scope_digest) { return "scope." + scope_digest; }

std::string scope_index_id(const std::string& scope_digest, const std::string& upload_id) {
  return fmt::format("scope.{}.{}", scope_digest, upload_id);
}

std::string scope_index_upload(const std::string& scope_digest, const std::string& record_id) {
  const std::string prefix = fmt::format("scope.{}.", scope_digest);
  if (record_id.size() <= prefix.size() || record_id.compare(0, prefix.size(), prefix) != 0) return "";
  return record_id.substr(prefix.size());
}

}  // namespace mediastore::detail
