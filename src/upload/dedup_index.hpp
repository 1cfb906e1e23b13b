// Records of duplicate detection in the queue backend's record store
// (internal): the content claims of exact-duplicate detection and the scope
// index near-duplicate search reads. Shared by the deduplicating stage
// (stages/dedup.cpp), which writes both, and UploadService::similar()
// (similar.cpp), which reads the index.
//
// Claims: "dup.<D>.<g>", D = hex SHA-256 of (scope key, scope value, content
// SHA-256), g = 0, 1, 2, ... its generation; state "dup.claim", body the
// owning upload's id. Created with JobQueue::create_record, so exactly one
// upload owns a generation. Generation g+1 is claimed only once the owner of
// g can no longer complete (failed, or its job is gone), so the owner of the
// first generation whose owner completed is the original.
//
// Scope index: "scope.<S>.<upload id>", S = hex SHA-256 of (scope key, scope
// value), state "scope.<S>", body the upload's phash (16 hex digits). One
// record per upload, written with put_record, so concurrent uploads never
// overwrite each other's entries; list_records(state) lists a scope. An
// entry is written before its upload completes: readers check the upload's
// status.
#pragma once

#include <string>

namespace mediastore::detail {

inline constexpr const char* kDedupClaimState = "dup.claim";

// The scope part S of a scope's index (see above).
std::string dedup_scope_digest(const std::string& scope_key, const std::string& scope_value);
// The claim record of generation `generation` of a content in a scope.
std::string dedup_claim_id(const std::string& scope_key, const std::string& scope_value, const std::string& sha256,
                           int generation);
// The state every index entry of a scope has.
std::string scope_index_state(const std::string& scope_digest);
// The id of one upload's index entry.
std::string scope_index_id(const std::string& scope_digest, const std::string& upload_id);
// The upload id of an index entry's id; "" when `record_id` is not one of
// the scope.
std::string scope_index_upload(const std::string& scope_digest, const std::string& record_id);

}  // namespace mediastore::detail
