// Bindings of the entropy coders (csrc/coding/): CdfTable, one-shot and batch encode/decode over
// both coders, incremental rANS decoding and pmf quantization.
#include <memory>
#include <string>
#include <vector>

#include "binding_util.h"
#include "coding/cdf_table.h"
#include "coding/coder.h"
#include "coding/pmf_quantize.h"
#include "common/parallel.h"

namespace fastcodec_bindings {
namespace {

using fastcodec::CdfTable;
using fastcodec::Coder;
using fastcodec::Status;

Coder to_coder(int c) {
  if (c != 0 && c != 1) throw py::value_error("coder must be 0 (ans) or 1 (range), got " + std::to_string(c));
  return static_cast<Coder>(c);
}

std::shared_ptr<CdfTable> make_table(const py::handle& cdfs_obj, const py::handle& lengths_obj,
                                     const py::handle& offsets_obj, int precision) {
  auto cdfs = strict_array<int32_t>(cdfs_obj, "cdfs");
  auto lengths = strict_array<int32_t>(lengths_obj, "lengths");
  auto offsets = strict_array<int32_t>(offsets_obj, "offsets");
  if (cdfs.ndim() != 2) throw py::value_error("cdfs must be 2-D [tables, max_length]");
  const int64_t rows = cdfs.shape(0);
  if (lengths.ndim() != 1 || lengths.shape(0) != rows || offsets.ndim() != 1 || offsets.shape(0) != rows) {
    throw py::value_error("lengths and offsets must be 1-D with one entry per cdfs row");
  }
  auto table = std::make_shared<CdfTable>();
  Status st = CdfTable::Build(cdfs.data(), rows, cdfs.shape(1), lengths.data(), offsets.data(), precision,
                              table.get());
  if (!st.ok()) raise_status(st);
  return table;
}

py::bytes encode(const CdfTable& table, const py::handle& sym_obj, const py::handle& idx_obj, int coder) {
  auto symbols = strict_array<int32_t>(sym_obj, "symbols");
  auto indexes = strict_array<int32_t>(idx_obj, "indexes");
  if (symbols.size() != indexes.size()) throw py::value_error("symbols and indexes differ in length");
  const Coder c = to_coder(coder);
  std::vector<uint8_t> out;
  Status st;
  {
    py::gil_scoped_release release;  // pure C++ over buffers the caller keeps alive
    st = fastcodec::encode(c, table, symbols.data(), indexes.data(), symbols.size(), &out);
  }
  if (!st.ok()) raise_status(st);
  return py::bytes(reinterpret_cast<const char*>(out.data()), out.size());
}

CArray<int32_t> decode(const CdfTable& table, const py::buffer& data, const py::handle& idx_obj, int coder) {
  auto indexes = strict_array<int32_t>(idx_obj, "indexes");
  const Coder c = to_coder(coder);
  py::buffer_info info = data.request();
  const Bytes bytes = byte_view(info, "data");
  CArray<int32_t> out(std::vector<py::ssize_t>(indexes.shape(), indexes.shape() + indexes.ndim()));
  int32_t* dst = out.mutable_data();
  Status st;
  {
    py::gil_scoped_release release;  // decode reads `info` and writes `out`, both held here
    st = fastcodec::decode(c, table, bytes.data, bytes.size, indexes.data(), indexes.size(), dst);
  }
  if (!st.ok()) raise_status(st);
  return out;
}

void check_batch_status(const std::vector<Status>& statuses) {
  for (size_t k = 0; k < statuses.size(); ++k) {
    if (!statuses[k].ok()) raise_status(statuses[k], "stream " + std::to_string(k) + ": ");
  }
}

py::list encode_batch(const CdfTable& table, const py::sequence& sym_list, const py::sequence& idx_list,
                      int coder, int threads) {
  const Coder c = to_coder(coder);
  const size_t n = py::len(sym_list);
  if (py::len(idx_list) != n) throw py::value_error("symbols and indexes lists differ in length");
  std::vector<CArray<int32_t>> syms, idxs;
  syms.reserve(n);
  idxs.reserve(n);
  for (size_t k = 0; k < n; ++k) {
    syms.push_back(strict_array<int32_t>(sym_list[k], "symbols[k]"));
    idxs.push_back(strict_array<int32_t>(idx_list[k], "indexes[k]"));
    if (syms.back().size() != idxs.back().size()) {
      throw py::value_error("symbols[" + std::to_string(k) + "] and indexes[" + std::to_string(k) + "] differ in length");
    }
  }
  std::vector<std::vector<uint8_t>> outs(n);
  std::vector<Status> statuses(n);
  {
    py::gil_scoped_release release;  // workers touch only the arrays held in syms/idxs
    fastcodec::parallel_for(static_cast<int64_t>(n), threads, [&](int64_t k) {
      statuses[k] = fastcodec::encode(c, table, syms[k].data(), idxs[k].data(), syms[k].size(), &outs[k]);
    });
  }
  check_batch_status(statuses);
  py::list result;
  for (auto& o : outs) result.append(py::bytes(reinterpret_cast<const char*>(o.data()), o.size()));
  return result;
}

py::list decode_batch(const CdfTable& table, const py::sequence& data_list, const py::sequence& idx_list,
                      int coder, int threads) {
  const Coder c = to_coder(coder);
  const size_t n = py::len(data_list);
  if (py::len(idx_list) != n) throw py::value_error("data and indexes lists differ in length");
  std::vector<py::buffer_info> infos;
  std::vector<Bytes> bytes;
  std::vector<CArray<int32_t>> idxs, outs;
  std::vector<int32_t*> dsts;
  infos.reserve(n);
  for (size_t k = 0; k < n; ++k) {
    infos.push_back(py::reinterpret_borrow<py::buffer>(data_list[k]).request());
    bytes.push_back(byte_view(infos.back(), "data[k]"));
    idxs.push_back(strict_array<int32_t>(idx_list[k], "indexes[k]"));
    const auto& ix = idxs.back();
    outs.emplace_back(std::vector<py::ssize_t>(ix.shape(), ix.shape() + ix.ndim()));
    dsts.push_back(outs.back().mutable_data());
  }
  std::vector<Status> statuses(n);
  {
    py::gil_scoped_release release;  // buffers stay referenced by infos/idxs/outs until we return
    fastcodec::parallel_for(static_cast<int64_t>(n), threads, [&](int64_t k) {
      statuses[k] = fastcodec::decode(c, table, bytes[k].data, bytes[k].size, idxs[k].data(), idxs[k].size(), dsts[k]);
    });
  }
  check_batch_status(statuses);
  py::list result;
  for (auto& o : outs) result.append(o);
  return result;
}

CArray<int32_t> quantize_weight_rows(const py::handle& w_obj, const py::handle& counts_obj, int precision) {
  auto weights = strict_array<int64_t>(w_obj, "weights");
  auto counts = strict_array<int32_t>(counts_obj, "counts");
  if (weights.ndim() != 2 || counts.ndim() != 1 || counts.shape(0) != weights.shape(0)) {
    throw py::value_error("weights must be 2-D and counts 1-D with one entry per row");
  }
  const int64_t rows = weights.shape(0), width = weights.shape(1);
  CArray<int32_t> cdfs({static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(width + 1)});
  Status st = fastcodec::quantize_weight_rows(weights.data(), rows, width, counts.data(), precision, cdfs.mutable_data());
  if (!st.ok()) raise_status(st);
  return cdfs;
}

// Incremental rANS decoding; keeps the Python bytes object alive while it reads from it.
class StreamDecoder {
 public:
  explicit StreamDecoder(py::buffer data) : data_(std::move(data)), info_(data_.request()) {
    const Bytes bytes = byte_view(info_, "data");
    Status st = dec_.Init(bytes.data, bytes.size);
    if (!st.ok()) raise_status(st);
  }

  CArray<int32_t> decode(const CdfTable& table, const py::handle& idx_obj) {
    auto indexes = strict_array<int32_t>(idx_obj, "indexes");
    CArray<int32_t> out(std::vector<py::ssize_t>(indexes.shape(), indexes.shape() + indexes.ndim()));
    Status st = dec_.Decode(table, indexes.data(), indexes.size(), out.mutable_data());
    if (!st.ok()) raise_status(st);
    return out;
  }

  void finish() const {
    Status st = dec_.Finish();
    if (!st.ok()) raise_status(st);
  }

  int64_t decoded() const { return dec_.decoded(); }

 private:
  py::buffer data_;
  py::buffer_info info_;
  fastcodec::RansStreamDecoder dec_;
};

}  // namespace

void register_coding(py::module_& m) {
  m.attr("MIN_PRECISION") = fastcodec::kMinPrecision;
  m.attr("MAX_PRECISION") = fastcodec::kMaxPrecision;

  py::class_<CdfTable, std::shared_ptr<CdfTable>>(m, "CdfTable")
      .def(py::init(&make_table), py::arg("cdfs"), py::arg("lengths"), py::arg("offsets"), py::arg("precision"))
      .def_property_readonly("precision", &CdfTable::precision)
      .def_property_readonly("num_tables", &CdfTable::num_tables)
      .def_property_readonly("memory_bytes", &CdfTable::memory_bytes);

  py::class_<StreamDecoder>(m, "StreamDecoder")
      .def(py::init<py::buffer>(), py::arg("data"))
      .def("decode", &StreamDecoder::decode, py::arg("table"), py::arg("indexes"))
      .def("finish", &StreamDecoder::finish)
      .def_property_readonly("decoded", &StreamDecoder::decoded);

  m.def("encode", &encode, py::arg("table"), py::arg("symbols"), py::arg("indexes"), py::arg("coder"));
  m.def("decode", &decode, py::arg("table"), py::arg("data"), py::arg("indexes"), py::arg("coder"));
  m.def("encode_batch", &encode_batch, py::arg("table"), py::arg("symbols"), py::arg("indexes"),
        py::arg("coder"), py::arg("threads"));
  m.def("decode_batch", &decode_batch, py::arg("table"), py::arg("data"), py::arg("indexes"), py::arg("coder"),
        py::arg("threads"));
  m.def("quantize_weight_rows", &quantize_weight_rows, py::arg("weights"), py::arg("counts"), py::arg("precision"));
  m.def("max_encoded_size", [](int64_t n, int64_t escapes, int coder) {
    return to_coder(coder) == Coder::kAns ? fastcodec::rans_max_size(n, escapes) : fastcodec::range_max_size(n, escapes);
  }, py::arg("n"), py::arg("escapes"), py::arg("coder"));
}

}  // namespace fastcodec_bindings
