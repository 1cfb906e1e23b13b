#include "s3/xml.hpp"

#include <fmt/format.h>
#include <tinyxml2.h>

#include <charconv>
#include <cstring>
#include <ctime>

namespace mediastore::s3 {

namespace {

using tinyxml2::XMLDocument;
using tinyxml2::XMLElement;

// Element name without a namespace prefix ("s3:Key" -> "Key").
std::string_view local_name(const XMLElement* e) {
  std::string_view n = e->Name();
  auto colon = n.find(':');
  return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

const XMLElement* child(const XMLElement* parent, std::string_view name) {
  for (auto* e = parent->FirstChildElement(); e != nullptr; e = e->NextSiblingElement()) {
    if (local_name(e) == name) return e;
  }
  return nullptr;
}

std::string text_of(const XMLElement* parent, std::string_view name) {
  const XMLElement* e = child(parent, name);
  if (e == nullptr || e->GetText() == nullptr) return {};
  return e->GetText();
}

template <typename F>
void for_each_child(const XMLElement* parent, std::string_view name, F&& f) {
  for (auto* e = parent->FirstChildElement(); e != nullptr; e = e->NextSiblingElement()) {
    if (local_name(e) == name) f(e);
  }
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool is_true(std::string_view s) { return s == "true" || s == "True" || s == "TRUE"; }

// Parses body and checks the root element's name; an <Error> root becomes
// the mapped status (S3 sends errors inside 200 answers for some calls).
Result<const XMLElement*> open_root(XMLDocument& doc, std::string_view body, std::string_view expected,
                                    std::string_view what) {
  if (doc.Parse(body.data(), body.size()) != tinyxml2::XML_SUCCESS) {
    return Status::Internal(fmt::format("{}: the S3 answer is not well-formed XML ({})", what, doc.ErrorStr()));
  }
  const XMLElement* root = doc.RootElement();
  if (root == nullptr) return Status::Internal(fmt::format("{}: the S3 answer has no XML root element", what));
  if (local_name(root) == "Error" && expected != "Error") {
    S3Error err{text_of(root, "Code"), text_of(root, "Message"), text_of(root, "RequestId"), text_of(root, "Key")};
    return s3_status(err, 200, what);
  }
  if (local_name(root) != expected) {
    return Status::Internal(
        fmt::format("{}: expected <{}> in the S3 answer, got <{}>", what, expected, std::string(local_name(root))));
  }
  return root;
}

}  // namespace

std::optional<S3Error> parse_error(std::string_view body) {
  if (body.empty()) return std::nullopt;
  XMLDocument doc;
  if (doc.Parse(body.data(), body.size()) != tinyxml2::XML_SUCCESS) return std::nullopt;
  const XMLElement* root = doc.RootElement();
  if (root == nullptr || local_name(root) != "Error") return std::nullopt;
  S3Error e;
  e.code = text_of(root, "Code");
  e.message = text_of(root, "Message");
  e.request_id = text_of(root, "RequestId");
  e.resource = text_of(root, "Key");
  if (e.resource.empty()) e.resource = text_of(root, "BucketName");
  if (e.resource.empty()) e.resource = text_of(root, "Resource");
  return e;
}

Result<ListObjectsV2Result> parse_list_objects_v2(std::string_view body) {
  XMLDocument doc;
  auto root = open_root(doc, body, "ListBucketResult", "ListObjectsV2");
  if (!root.ok()) return root.status();
  ListObjectsV2Result out;
  Status bad;
  for_each_child(*root, "Contents", [&](const XMLElement* c) {
    ListedObject o;
    o.key = text_of(c, "Key");
    const std::string size = text_of(c, "Size");
    if (!size.empty() && !parse_u64(size, o.size)) {
      bad = Status::Internal(fmt::format("ListObjectsV2: bad <Size> '{}' for key '{}'", size, o.key));
    }
    o.etag = unquote_etag(text_of(c, "ETag"));
    if (auto t = parse_iso8601(text_of(c, "LastModified"))) o.last_modified = *t;
    out.objects.push_back(std::move(o));
  });
  if (!bad.ok()) return bad;
  for_each_child(*root, "CommonPrefixes",
                 [&](const XMLElement* c) { out.common_prefixes.push_back(text_of(c, "Prefix")); });
  out.is_truncated = is_true(text_of(*root, "IsTruncated"));
  out.next_continuation_token = text_of(*root, "NextContinuationToken");
  if (out.is_truncated && out.next_continuation_token.empty()) {
    return Status::Internal("ListObjectsV2: the answer is truncated but has no NextContinuationToken");
  }
  return out;
}

Result<std::string> parse_initiate_multipart(std::string_view body) {
  XMLDocument doc;
  auto root = open_root(doc, body, "InitiateMultipartUploadResult", "CreateMultipartUpload");
  if (!root.ok()) return root.status();
  std::string id = text_of(*root, "UploadId");
  if (id.empty()) return Status::Internal("CreateMultipartUpload: the answer has no <UploadId>");
  return id;
}

Result<CompleteMultipartResult> parse_complete_multipart(std::string_view body) {
  XMLDocument doc;
  auto root = open_root(doc, body, "CompleteMultipartUploadResult", "CompleteMultipartUpload");
  if (!root.ok()) return root.status();
  return CompleteMultipartResult{unquote_etag(text_of(*root, "ETag"))};
}

Result<ListPartsResult> parse_list_parts(std::string_view body) {
  XMLDocument doc;
  auto root = open_root(doc, body, "ListPartsResult", "ListParts");
  if (!root.ok()) return root.status();
  ListPartsResult out;
  Status bad;
  for_each_child(*root, "Part", [&](const XMLElement* p) {
    PartInfo part;
    std::uint64_t n = 0;
    if (!parse_u64(text_of(p, "PartNumber"), n) || n < 1 || n > 10000) {
      bad = Status::Internal(fmt::format("ListParts: bad <PartNumber> '{}'", text_of(p, "PartNumber")));
      return;
    }
    part.part_number = static_cast<int>(n);
    part.etag = unquote_etag(text_of(p, "ETag"));
    parse_u64(text_of(p, "Size"), part.size);
    out.parts.push_back(std::move(part));
  });
  if (!bad.ok()) return bad;
  out.is_truncated = is_true(text_of(*root, "IsTruncated"));
  std::uint64_t marker = 0;
  if (parse_u64(text_of(*root, "NextPartNumberMarker"), marker)) out.next_part_number_marker = static_cast<int>(marker);
  return out;
}

Result<ListUploadsResult> parse_list_multipart_uploads(std::string_view body) {
  XMLDocument doc;
  auto root = open_root(doc, body, "ListMultipartUploadsResult", "ListMultipartUploads");
  if (!root.ok()) return root.status();
  ListUploadsResult out;
  for_each_child(*root, "Upload", [&](const XMLElement* u) {
    UploadInfo info;
    info.key = text_of(u, "Key");
    info.upload_id = text_of(u, "UploadId");
    if (auto t = parse_iso8601(text_of(u, "Initiated"))) info.initiated = *t;
    out.uploads.push_back(std::move(info));
  });
  out.is_truncated = is_true(text_of(*root, "IsTruncated"));
  out.next_key_marker = text_of(*root, "NextKeyMarker");
  out.next_upload_id_marker = text_of(*root, "NextUploadIdMarker");
  return out;
}

Result<DeleteResult> parse_delete_result(std::string_view body) {
  XMLDocument doc;
  auto root = open_root(doc, body, "DeleteResult", "DeleteObjects");
  if (!root.ok()) return root.status();
  DeleteResult out;
  for_each_child(*root, "Deleted", [&](const XMLElement* d) { out.deleted.push_back(text_of(d, "Key")); });
  for_each_child(*root, "Error", [&](const XMLElement* e) {
    DeleteFailure f;
    f.key = text_of(e, "Key");
    f.error.code = text_of(e, "Code");
    f.error.message = text_of(e, "Message");
    f.error.resource = f.key;
    out.errors.push_back(std::move(f));
  });
  return out;
}

Result<CopyResult> parse_copy_result(std::string_view body) {
  XMLDocument doc;
  auto root = open_root(doc, body, "CopyObjectResult", "CopyObject");
  if (!root.ok()) return root.status();
  CopyResult out;
  out.etag = unquote_etag(text_of(*root, "ETag"));
  if (auto t = parse_iso8601(text_of(*root, "LastModified"))) out.last_modified = *t;
  return out;
}

Result<StsCredentials> parse_assume_role_with_web_identity(std::string_view body) {
  constexpr std::string_view what = "STS AssumeRoleWithWebIdentity";
  XMLDocument doc;
  if (doc.Parse(body.data(), body.size()) != tinyxml2::XML_SUCCESS) {
    return Status::Internal(fmt::format("{}: the answer is not well-formed XML ({})", what, doc.ErrorStr()));
  }
  const XMLElement* root = doc.RootElement();
  if (root == nullptr) return Status::Internal(fmt::format("{}: the answer has no XML root element", what));
  if (local_name(root) == "ErrorResponse") {
    const XMLElement* err = child(root, "Error");
    if (err == nullptr) err = root;
    return Status::AuthFailed(fmt::format("{} refused: {}: {}", what, text_of(err, "Code"), text_of(err, "Message")));
  }
  if (local_name(root) != "AssumeRoleWithWebIdentityResponse") {
    return Status::Internal(
        fmt::format("{}: expected <AssumeRoleWithWebIdentityResponse>, got <{}>", what, std::string(local_name(root))));
  }
  const XMLElement* result = child(root, "AssumeRoleWithWebIdentityResult");
  const XMLElement* creds = result != nullptr ? child(result, "Credentials") : nullptr;
  if (creds == nullptr) return Status::Internal(fmt::format("{}: the answer has no <Credentials>", what));
  StsCredentials out;
  out.access_key_id = text_of(creds, "AccessKeyId");
  out.secret_access_key = text_of(creds, "SecretAccessKey");
  out.session_token = text_of(creds, "SessionToken");
  const std::string expiration = text_of(creds, "Expiration");
  auto t = parse_iso8601(expiration);
  if (out.access_key_id.empty() || out.secret_access_key.empty() || out.session_token.empty() || !t) {
    return Status::Internal(fmt::format(
        "{}: the answer's <Credentials> lacks AccessKeyId, SecretAccessKey, SessionToken or a valid Expiration", what));
  }
  out.expiration = *t;
  return out;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\t': out += "&#9;"; break;
      case '\n': out += "&#10;"; break;
      case '\r': out += "&#13;"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out.push_back('?');
        } else {
          out.push_back(ch);
        }
    }
  }
  return out;
}

std::string build_complete_multipart(const std::vector<PartInfo>& parts) {
  std::string out = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (const auto& p : parts) {
    out += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>&quot;{}&quot;</ETag></Part>", p.part_number,
                       xml_escape(p.etag));
  }
  out += "</CompleteMultipartUpload>";
  return out;
}

std::string build_delete_objects(const std::vector<std::string>& keys, bool quiet) {
  std::string out = "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  if (quiet) out += "<Quiet>true</Quiet>";
  for (const auto& k : keys) {
    out += "<Object><Key>";
    out += xml_escape(k);
    out += "</Key></Object>";
  }
  out += "</Delete>";
  return out;
}

namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

std::optional<std::chrono::system_clock::time_point> from_civil(int y, int mo, int d, int h, int mi, int s, int ms) {
  // system_clock counts nanoseconds in 64 bits: about 1678 .. 2261.
  if (y < 1900 || y > 2200) return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  const time_t t = timegm(&tm);
  return std::chrono::system_clock::from_time_t(t) + std::chrono::milliseconds(ms);
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS[.fff...]Z
  int y, mo, d, h, mi, s, ms = 0;
  if (t.size() < 20 || !digits(t, 0, 4, y) || t[4] != '-' || !digits(t, 5, 2, mo) || t[7] != '-' ||
      !digits(t, 8, 2, d) || t[10] != 'T' || !digits(t, 11, 2, h) || t[13] != ':' || !digits(t, 14, 2, mi) ||
      t[16] != ':' || !digits(t, 17, 2, s)) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  if (t[pos] == '.') {
    ++pos;
    int scale = 100;
    while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
      ms += (t[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
  }
  if (pos != t.size() - 1 || t[pos] != 'Z') return std::nullopt;
  return from_civil(y, mo, d, h, mi, s, ms);
}

std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view t) {
  // "Wed, 25 Nov 2026 14:28:34 GMT"
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  int d, y, h, mi, s;
  if (t.size() != 29 || t[3] != ',' || !digits(t, 5, 2, d) || !digits(t, 12, 4, y) || !digits(t, 17, 2, h) ||
      t[19] != ':' || !digits(t, 20, 2, mi) || t[22] != ':' || !digits(t, 23, 2, s) || t.substr(26) != "GMT") {
    return std::nullopt;
  }
  const std::string_view mon = t.substr(8, 3);
  int mo = 0;
  for (int i = 0; i < 12; ++i) {
    if (mon == kMonths[i]) mo = i + 1;
  }
  if (mo == 0) return std::nullopt;
  return from_civil(y, mo, d, h, mi, s, 0);
}

std::string unquote_etag(std::string_view etag) {
  while (!etag.empty() && (etag.front() == '"' || etag.front() == ' ')) etag.remove_prefix(1);
  while (!etag.empty() && (etag.back() == '"' || etag.back() == ' ')) etag.remove_suffix(1);
  return std::string(etag);
}

}  // namespace mediastore::s3
