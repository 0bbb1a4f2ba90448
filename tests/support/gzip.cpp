#include "support/gzip.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

namespace memstrain::testing {

std::string gzip(std::string_view data) {
  z_stream zs{};
  // windowBits 16 + MAX_WBITS selects the gzip wrapper instead of zlib's.
  if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    ADD_FAILURE() << "gzip: deflateInit2 failed";
    return {};
  }
  // deflateBound is enough for Z_FINISH in one call; the slack covers the gzip header and trailer.
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())) + 64, '\0');
  // zlib's API takes a non-const pointer but does not write through next_in.
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  if (rc != Z_STREAM_END) ADD_FAILURE() << "gzip: deflate returned " << rc << ", not Z_STREAM_END";
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace memstrain::testing
