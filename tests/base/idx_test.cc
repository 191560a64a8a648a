#include "base/idx.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/file_io.h"

namespace persephonee {
namespace {

const char kFashionMnist[] = "/usr/share/datasets/fashion-mnist/";

class IdxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* root = getenv("TEST_TMPDIR");
    std::string pattern = std::string(root != nullptr && *root ? root : "/tmp") + "/idx.XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    ASSERT_NE(mkdtemp(buffer.data()), nullptr);
    dir_ = buffer.data();
  }
  void TearDown() override {
    for (const std::string& f : files_) unlink(f.c_str());
    rmdir(dir_.c_str());
  }
  std::string File(const std::string& name) {
    files_.push_back(dir_ + "/" + name);
    return files_.back();
  }
  std::string Put(const std::string& name, const std::string& bytes) {
    const std::string path = File(name);
    EXPECT_TRUE(WriteFileAtomically(path, bytes.data(), bytes.size()).ok());
    return path;
  }

  std::string dir_;
  std::vector<std::string> files_;
};

std::string Header(uint8_t type, const std::vector<uint32_t>& dims) {
  std::string h = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) h.push_back(static_cast<char>(d >> shift));
  }
  return h;
}

// One gzip member holding `bytes`, made by zlib directly (not by the code under test).
std::string Gzip(const std::string& bytes) {
  z_stream z;
  std::memset(&z, 0, sizeof(z));
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, bytes.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::vector<uint8_t> RandomBytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (uint8_t& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

IdxReader OpenOrDie(const std::string& path) {
  StatusOr<IdxReader> reader = IdxReader::Open(path);
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  return std::move(reader).value();
}

// Expects `status` to have `code` and a message naming `path` and containing `what`.
void ExpectError(const Status& status, StatusCode code, const std::string& path,
                 const std::string& what, const std::string& label) {
  EXPECT_FALSE(status.ok()) << label;
  EXPECT_EQ(status.code(), code) << label << ": " << status.ToString();
  EXPECT_NE(status.message().find(path), std::string::npos) << label << ": " << status.ToString();
  EXPECT_NE(status.message().find(what), std::string::npos)
      << label << ": wanted \"" << what << "\" in " << status.ToString();
}

TEST_F(IdxTest, RoundTripPlainAndGzip) {
  const std::vector<std::vector<uint32_t>> shapes = {{10}, {7, 5, 3}, {3, 2, 2, 2}, {1, 28, 28}};
  for (bool gzip : {false, true}) {
    for (size_t s = 0; s < shapes.size(); ++s) {
      const std::vector<uint32_t>& dims = shapes[s];
      size_t size = 1;
      for (uint32_t d : dims) size *= d;
      const std::vector<uint8_t> data = RandomBytes(size, static_cast<unsigned>(s));
      const std::string path = File("round" + std::to_string(s) + (gzip ? ".gz" : ".idx"));
      const std::string label = path + (gzip ? " gzip" : " plain");
      ASSERT_TRUE(WriteIdx(path, dims, data.data(), data.size(), gzip).ok()) << label;

      StatusOr<std::string> raw = ReadFile(path);
      ASSERT_TRUE(raw.ok());
      if (gzip) {
        EXPECT_EQ(raw->substr(0, 2), "\x1f\x8b") << label;
      } else {
        EXPECT_EQ(*raw, Header(0x08, dims) + std::string(data.begin(), data.end())) << label;
      }

      StatusOr<IdxArray> array = ReadIdx(path);
      ASSERT_TRUE(array.ok()) << array.status().ToString();
      EXPECT_EQ(array->dims, dims) << label;
      EXPECT_TRUE(array->data == data) << label;

      IdxReader reader = OpenOrDie(path);
      EXPECT_EQ(reader.compressed(), gzip) << label;
      EXPECT_EQ(reader.num_records(), dims[0]);
      EXPECT_EQ(reader.record_bytes(), size / dims[0]);
      const size_t n = reader.num_records(), rb = reader.record_bytes();
      for (size_t first = 0; first < n; ++first) {
        for (size_t count : {size_t{0}, size_t{1}, n - first}) {
          std::vector<uint8_t> out(count * rb + 3, 0xAB);  // 3 spare bytes must stay untouched
          const Status status = reader.ReadRecords(first, count, out.data(), out.size());
          ASSERT_TRUE(status.ok()) << label << ": " << status.ToString();
          for (size_t i = 0; i < count * rb; ++i) {
            ASSERT_EQ(out[i], data[first * rb + i])
                << label << " records [" << first << ", " << first + count << ") byte " << i;
          }
          for (size_t i = count * rb; i < out.size(); ++i) ASSERT_EQ(out[i], 0xAB) << label;
        }
      }
    }
  }
}

TEST_F(IdxTest, DetectsGzipByMagicNotByName) {
  const std::vector<uint8_t> data = RandomBytes(12, 1);
  const std::string payload = Header(0x08, {3, 4}) + std::string(data.begin(), data.end());
  const std::string gz_named_idx = Put("really_gzip.idx", Gzip(payload));
  const std::string idx_named_gz = Put("really_plain.gz", payload);
  for (const std::string& path : {gz_named_idx, idx_named_gz}) {
    StatusOr<IdxArray> array = ReadIdx(path);
    ASSERT_TRUE(array.ok()) << array.status().ToString();
    EXPECT_EQ(array->dims, (std::vector<uint32_t>{3, 4}));
    EXPECT_TRUE(array->data == data) << path;
  }
  EXPECT_TRUE(OpenOrDie(gz_named_idx).compressed());
  EXPECT_FALSE(OpenOrDie(idx_named_gz).compressed());
}

TEST_F(IdxTest, ReadsConcatenatedGzipMembers) {
  // gzip allows several members back to back (`cat a.gz b.gz`); the header is in the first.
  const std::vector<uint8_t> data = RandomBytes(600, 2);
  const std::string payload = Header(0x08, {6, 10, 10}) + std::string(data.begin(), data.end());
  const std::string path =
      Put("two.gz", Gzip(payload.substr(0, 100)) + Gzip(payload.substr(100)) + Gzip(""));
  StatusOr<IdxArray> array = ReadIdx(path);
  ASSERT_TRUE(array.ok()) << array.status().ToString();
  EXPECT_TRUE(array->data == data);
}

struct Malformed {
  std::string name;
  std::string bytes;  // the IDX bytes (gzipped too for the second pass)
  StatusCode code;
  std::string plain_message;
  std::string gzip_message;  // empty: same as plain_message
};

std::vector<Malformed> MalformedCases() {
  const std::string six = "abcdef";
  return {
      {"empty", "", StatusCode::kDataLoss, "truncated header: 0 bytes",
       "the decompressed data has 0 bytes"},
      {"three_bytes", std::string("\0\0\x08", 3), StatusCode::kDataLoss,
       "truncated header: 3 bytes", "the decompressed data has 3 bytes"},
      {"bad_magic", std::string("\x01\x02\x08\x01\0\0\0\x01x", 9), StatusCode::kDataLoss,
       "is not an IDX file: magic 0x01020801", ""},
      {"unknown_type", Header(0x0A, {2}) + "ab", StatusCode::kDataLoss,
       "unknown IDX element type 0x0a", ""},
      {"float32", Header(0x0D, {2}) + std::string(8, '\0'), StatusCode::kUnimplemented,
       "IDX element type float32 (0x0d) is not supported", ""},
      {"int32", Header(0x0C, {2}) + std::string(8, '\0'), StatusCode::kUnimplemented,
       "int32 (0x0c) is not supported", ""},
      {"no_dims", Header(0x08, {}) + "a", StatusCode::kDataLoss, "has 0 dimensions", ""},
      {"short_header", Header(0x08, {2, 3, 1}).substr(0, 12), StatusCode::kDataLoss,
       "truncated header: 3 dimensions need 16 bytes, the file has 12",
       "3 dimensions need 16 bytes, the decompressed data has 12"},
      {"zero_dim", Header(0x08, {2, 0, 3}), StatusCode::kDataLoss,
       "IDX dimension 1 is 0 (dimensions 2 x 0 x 3)", ""},
      {"overflow", Header(0x08, {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}) + "x",
       StatusCode::kDataLoss, "dimensions 4294967295 x 4294967295 x 4294967295 overflow 64 bits",
       ""},
      {"over_limit", Header(0x08, {1u << 20, 1u << 20}) + "x", StatusCode::kResourceExhausted,
       "announce 1099511627776 bytes, more than the limit", ""},
      {"truncated_data", Header(0x08, {2, 3}) + six.substr(0, 5), StatusCode::kDataLoss,
       "truncated: the header says 2 x 3 = 6 bytes of data, the file has 5",
       "truncated: the header says 2 x 3 = 6 bytes of data, the decompressed data has 5"},
      {"header_only", Header(0x08, {2, 3}), StatusCode::kDataLoss,
       "6 bytes of data, the file has 0", "6 bytes of data, the decompressed data has 0"},
      {"trailing_data", Header(0x08, {2, 3}) + six + "g", StatusCode::kDataLoss,
       "trailing data: the header says 2 x 3 = 6 bytes of data, the file has 7",
       "trailing data: the header says 2 x 3 = 6 bytes of data, the decompressed data has 7"},
  };
}

TEST_F(IdxTest, MalformedFilesGiveClearErrors) {
  for (const Malformed& m : MalformedCases()) {
    for (bool gzip : {false, true}) {
      const std::string path =
          Put(m.name + (gzip ? ".gz" : ".idx"), gzip ? Gzip(m.bytes) : m.bytes);
      const std::string& message =
          gzip && !m.gzip_message.empty() ? m.gzip_message : m.plain_message;
      ExpectError(IdxReader::Open(path).status(), m.code, path, message, path);
      ExpectError(ReadIdx(path).status(), m.code, path, message, path);
    }
  }
}

TEST_F(IdxTest, BrokenGzipStreamsGiveClearErrors) {
  const std::vector<uint8_t> data = RandomBytes(3000, 3);
  const std::string gz = Gzip(Header(0x08, {3, 1000}) + std::string(data.begin(), data.end()));
  ASSERT_GT(gz.size(), 100u);

  // Cut inside the deflate data, and just before the 8-byte trailer (CRC and length).
  ExpectError(IdxReader::Open(Put("cut_middle.gz", gz.substr(0, gz.size() / 2))).status(),
              StatusCode::kDataLoss, "cut_middle.gz", "the gzip stream ends early", "cut middle");
  ExpectError(IdxReader::Open(Put("cut_trailer.gz", gz.substr(0, gz.size() - 8))).status(),
              StatusCode::kDataLoss, "cut_trailer.gz", "the gzip stream ends early", "cut trailer");

  // A wrong CRC-32 in the trailer.
  std::string bad_crc = gz;
  bad_crc[gz.size() - 8] ^= 0x01;
  ExpectError(IdxReader::Open(Put("bad_crc.gz", bad_crc)).status(), StatusCode::kDataLoss,
              "bad_crc.gz", "corrupt gzip data (incorrect data check)", "bad crc");

  // A wrong length in the trailer.
  std::string bad_length = gz;
  bad_length[gz.size() - 1] ^= 0x01;
  ExpectError(IdxReader::Open(Put("bad_length.gz", bad_length)).status(), StatusCode::kDataLoss,
              "bad_length.gz", "corrupt gzip data (incorrect length check)", "bad length");

  // Garbage in the middle of the data (past the IDX header, which would otherwise be read
  // as garbage dimensions first): the deflate decoder or the CRC check catches it.
  std::string flipped = gz;
  for (size_t i = gz.size() / 2; i < gz.size() / 2 + 20; ++i) flipped[i] ^= 0x5A;
  ExpectError(IdxReader::Open(Put("flipped.gz", flipped)).status(), StatusCode::kDataLoss,
              "flipped.gz", "corrupt gzip data", "flipped");

  // Bytes after the stream that do not start another member.
  const std::string junk_path = Put("junk.gz", gz + "junk");
  ExpectError(IdxReader::Open(junk_path).status(), StatusCode::kDataLoss, junk_path,
              "4 trailing bytes after the gzip stream, from byte " + std::to_string(gz.size()),
              "junk");
  ExpectError(IdxReader::Open(Put("one_junk.gz", gz + std::string(1, '\0'))).status(),
              StatusCode::kDataLoss, "one_junk.gz", "1 trailing bytes after the gzip stream",
              "one junk byte");
}

TEST_F(IdxTest, GzipHeaderThatOverstatesTheDataIsTruncatedNotAllocated) {
  // 2^28 bytes announced (under the 1 GiB limit), 10 present: the reader must report the
  // truncation after inflating what is there, growing its buffer only with real data.
  const std::string path = Put("liar.gz", Gzip(Header(0x08, {1u << 28}) + "0123456789"));
  ExpectError(IdxReader::Open(path).status(), StatusCode::kDataLoss, path,
              "268435456 bytes of data, the decompressed data has 10", "liar");
  // A lower limit refuses before reading.
  ExpectError(IdxReader::Open(path, 1000).status(), StatusCode::kResourceExhausted, path,
              "more than the limit of 1000", "limit");
}

TEST_F(IdxTest, ReadRecordsChecksItsArguments) {
  const std::vector<uint8_t> data = RandomBytes(5 * 4, 4);
  const std::string path = File("five.idx");
  ASSERT_TRUE(WriteIdx(path, {5, 4}, data.data(), data.size(), false).ok());
  IdxReader reader = OpenOrDie(path);
  std::vector<uint8_t> out(64);
  ExpectError(reader.ReadRecords(4, 2, out.data(), out.size()), StatusCode::kInvalidArgument, path,
              "2 records from record 4 are past the end (5 records)", "past end");
  ExpectError(reader.ReadRecords(6, 0, out.data(), out.size()), StatusCode::kInvalidArgument, path,
              "past the end", "first past end");
  ExpectError(reader.ReadRecords(0, 3, out.data(), 11), StatusCode::kInvalidArgument, path,
              "3 records need 12 bytes, the output holds 11", "small output");
  ExpectError(reader.ReadRecords(1, SIZE_MAX, out.data(), out.size()), StatusCode::kInvalidArgument,
              path, "past the end", "huge count");
  EXPECT_TRUE(reader.ReadRecords(5, 0, nullptr, 0).ok());

  // The file shrinks after Open: reading the lost records is a data loss, not a crash.
  ASSERT_EQ(truncate(path.c_str(), 4 + 8 + 12), 0);
  ExpectError(reader.ReadRecords(2, 2, out.data(), out.size()), StatusCode::kDataLoss, path,
              "ends at byte 24", "shrunk");
  EXPECT_TRUE(reader.ReadRecords(0, 3, out.data(), out.size()).ok());
}

TEST_F(IdxTest, MissingFileAndDirectory) {
  const std::string missing = dir_ + "/missing.gz";
  ExpectError(IdxReader::Open(missing).status(), StatusCode::kNotFound, missing, "no such file",
              "missing");
  ExpectError(ReadIdx(dir_).status(), StatusCode::kInvalidArgument, dir_, "is a directory",
              "directory");
}

TEST_F(IdxTest, OnlyRegularFilesWithinTheLimitAreOpened) {
  const std::string fifo = dir_ + "/images.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  alarm(60);  // a FIFO that blocked open(2) would end the test here
  ExpectError(IdxReader::Open(fifo).status(), StatusCode::kInvalidArgument, fifo,
              "is a named pipe (FIFO), not a regular file", "fifo");
  alarm(0);
  ExpectError(ReadIdx("/dev/zero").status(), StatusCode::kInvalidArgument, "/dev/zero",
              "is a character device", "device");
  // A sparse file beyond what any IDX file within the payload limit can be: refused by its
  // size, even with a header that announces a small payload (no byte is read).
  const std::string sparse = dir_ + "/sparse.idx";
  const std::vector<uint8_t> one = {5};
  ASSERT_TRUE(WriteIdx(sparse, {1}, one.data(), 1, false).ok());
  ASSERT_EQ(truncate(sparse.c_str(), off_t{2} << 20), 0);
  ExpectError(IdxReader::Open(sparse, 1000).status(), StatusCode::kResourceExhausted, sparse,
              "is 2097152 bytes, more than the limit of 1049701", "sparse");
  unlink(fifo.c_str());
}

TEST_F(IdxTest, WriteIdxRefusesBadShapesAndWritesNothing) {
  const std::vector<uint8_t> data(24, 7);
  const std::string path = dir_ + "/never.idx";
  struct Case {
    std::vector<uint32_t> dims;
    size_t size;
    const uint8_t* data;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{}, 24, data.data(), "0 dimensions; IDX holds 1 to 255"},
      {std::vector<uint32_t>(256, 1), 1, data.data(), "256 dimensions"},
      {{2, 0, 3}, 0, data.data(), "dimension 1 is 0"},
      {{2, 3, 4}, 23, data.data(), "dimensions 2 x 3 x 4 need 24 bytes, got 23"},
      {{0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, 24, data.data(), "overflow 64 bits"},
      {{2, 3, 4}, 24, nullptr, "null data"},
  };
  for (bool gzip : {false, true}) {
    for (const Case& c : cases) {
      ExpectError(WriteIdx(path, c.dims, c.data, c.size, gzip), StatusCode::kInvalidArgument, path,
                  c.message, c.message);
      EXPECT_NE(access(path.c_str(), F_OK), 0) << "a file was written for " << c.message;
    }
  }
}

// --- The real data set (Debian's dataset-fashion-mnist) -----------------------------------
// Expected values were computed once with Python's gzip module from the same files.

TEST_F(IdxTest, FashionMnistTestLabels) {
  const std::string path = std::string(kFashionMnist) + "t10k-labels-idx1-ubyte.gz";
  StatusOr<IdxArray> labels = ReadIdx(path);
  ASSERT_TRUE(labels.ok()) << labels.status().ToString();
  EXPECT_EQ(labels->dims, std::vector<uint32_t>{10000});
  ASSERT_EQ(labels->data.size(), 10000u);
  const std::vector<uint8_t> first(labels->data.begin(), labels->data.begin() + 12);
  EXPECT_EQ(first, (std::vector<uint8_t>{9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5}));
  std::vector<int> per_class(10, 0);
  for (size_t i = 0; i < labels->data.size(); ++i) {
    ASSERT_LT(labels->data[i], 10) << "label " << i;
    ++per_class[labels->data[i]];
  }
  EXPECT_EQ(per_class, std::vector<int>(10, 1000));
  EXPECT_EQ(crc32(0, labels->data.data(), static_cast<uInt>(labels->data.size())), 606848831u);
}

TEST_F(IdxTest, FashionMnistTrainLabels) {
  const std::string path = std::string(kFashionMnist) + "train-labels-idx1-ubyte.gz";
  StatusOr<IdxArray> labels = ReadIdx(path);
  ASSERT_TRUE(labels.ok()) << labels.status().ToString();
  EXPECT_EQ(labels->dims, std::vector<uint32_t>{60000});
  std::vector<int> per_class(10, 0);
  for (uint8_t label : labels->data) {
    ASSERT_LT(label, 10);
    ++per_class[label];
  }
  EXPECT_EQ(per_class, std::vector<int>(10, 6000));
}

TEST_F(IdxTest, FashionMnistTestImages) {
  const std::string path = std::string(kFashionMnist) + "t10k-images-idx3-ubyte.gz";
  IdxReader reader = OpenOrDie(path);
  EXPECT_TRUE(reader.compressed());
  EXPECT_EQ(reader.dims(), (std::vector<uint32_t>{10000, 28, 28}));
  EXPECT_EQ(reader.record_bytes(), 784u);

  std::vector<uint8_t> image(784);
  ASSERT_TRUE(reader.ReadRecords(0, 1, image.data(), image.size()).ok());
  EXPECT_EQ(crc32(0, image.data(), 784), 1384319072u);
  const std::vector<uint8_t> row14(image.begin() + 14 * 28, image.begin() + 15 * 28);
  EXPECT_EQ(row14, (std::vector<uint8_t>{0,   0,   0,   0,   0,   0,   2,   4,   1,   0,
                                         0,   0,   98,  136, 110, 109, 110, 162, 135, 144,
                                         149, 159, 167, 144, 158, 169, 119, 0}));
  ASSERT_TRUE(reader.ReadRecords(9999, 1, image.data(), image.size()).ok());
  EXPECT_EQ(crc32(0, image.data(), 784), 1281285270u);
  std::vector<uint8_t> two(2 * 784);
  ASSERT_TRUE(reader.ReadRecords(0, 2, two.data(), two.size()).ok());
  EXPECT_EQ(crc32(0, two.data() + 784, 784), 368027561u);

  StatusOr<IdxArray> all = ReadIdx(path);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->data.size(), 7840000u);
  EXPECT_EQ(crc32(0, all->data.data(), static_cast<uInt>(all->data.size())), 309494841u);
  uint64_t sum = 0;
  for (uint8_t p : all->data) sum += p;
  EXPECT_EQ(sum, 573469082u);

  // Written back plain and read as needed from disk, the records are the same.
  const std::string copy = File("t10k-images.idx");
  ASSERT_TRUE(WriteIdx(copy, all->dims, all->data.data(), all->data.size(), false).ok());
  IdxReader plain = OpenOrDie(copy);
  EXPECT_FALSE(plain.compressed());
  std::vector<uint8_t> batch(64 * 784);
  ASSERT_TRUE(plain.ReadRecords(5000, 64, batch.data(), batch.size()).ok());
  EXPECT_TRUE(std::equal(batch.begin(), batch.end(), all->data.begin() + 5000 * 784));
}

}  // namespace
}  // namespace persephonee
