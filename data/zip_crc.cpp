#include "data/zip_crc.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <vector>

#include "data/error.hpp"

namespace trd {
namespace {

// Offsets and signatures from PKWARE's APPNOTE.TXT, sections 4.3.7 (local
// header), 4.3.12 (central directory header) and 4.3.16 (end of central
// directory).
constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kEndOfDirectory = 0x06054b50;
constexpr std::size_t kEndOfDirectorySize = 22;
constexpr uint32_t kZip64Marker = 0xffffffff;

class Bytes {
 public:
  Bytes(const std::string& path, std::vector<unsigned char> content)
      : path_(path), content_(std::move(content)) {}

  std::size_t size() const { return content_.size(); }

  uint32_t read(std::size_t offset, int width) const {
    if (offset + static_cast<std::size_t>(width) > content_.size()) damaged("a header runs past the end");
    uint32_t value = 0;
    for (int i = width - 1; i >= 0; --i) value = (value << 8) | content_[offset + i];
    return value;
  }

  uLong crc(std::size_t offset, std::size_t length) const {
    if (offset + length > content_.size()) damaged("an entry runs past the end");
    uLong crc = crc32(0L, Z_NULL, 0);
    const unsigned char* data = content_.data() + offset;
    while (length > 0) {
      const uInt chunk = static_cast<uInt>(std::min<std::size_t>(length, 1u << 30));
      crc = crc32(crc, data, chunk);
      data += chunk;
      length -= chunk;
    }
    return crc;
  }

  [[noreturn]] void damaged(const std::string& why) const {
    throw InputError(path_ + ": not an intact zip archive (" + why + ")");
  }

 private:
  std::string path_;
  std::vector<unsigned char> content_;
};

}  // namespace

void verify_zip_crcs(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot be opened for reading");
  const Bytes bytes(path, std::vector<unsigned char>(std::istreambuf_iterator<char>(in), {}));
  if (bytes.size() < kEndOfDirectorySize) bytes.damaged("too short");
  // The end record sits last, before a comment of at most 65535 bytes.
  std::size_t end = bytes.size() - kEndOfDirectorySize;
  const std::size_t lowest = end > 65535 ? end - 65535 : 0;
  while (bytes.read(end, 4) != kEndOfDirectory) {
    if (end == lowest) bytes.damaged("no end of central directory");
    --end;
  }
  const uint32_t entries = bytes.read(end + 10, 2);
  std::size_t entry = bytes.read(end + 16, 4);
  if (entry == kZip64Marker) return;  // zip64 directory: not written by trd's LibTorch
  for (uint32_t e = 0; e < entries; ++e) {
    if (bytes.read(entry, 4) != kCentralHeader) bytes.damaged("a central directory entry is broken");
    const uint32_t method = bytes.read(entry + 10, 2);
    const uint32_t recorded = bytes.read(entry + 16, 4);
    const uint32_t stored_size = bytes.read(entry + 20, 4);
    const uint32_t name_length = bytes.read(entry + 28, 2);
    const uint32_t extra_length = bytes.read(entry + 30, 2);
    const uint32_t comment_length = bytes.read(entry + 32, 2);
    const uint32_t local = bytes.read(entry + 42, 4);
    entry += 46 + name_length + extra_length + comment_length;
    if (method != 0 || stored_size == kZip64Marker || local == kZip64Marker) continue;
    if (bytes.read(local, 4) != kLocalHeader) bytes.damaged("a local header is broken");
    const std::size_t data = local + 30 + bytes.read(local + 26, 2) + bytes.read(local + 28, 2);
    if (bytes.crc(data, stored_size) != recorded) {
      bytes.damaged("entry " + std::to_string(e) + " fails its CRC-32");
    }
  }
}

}  // namespace trd
