// The only pybind11 code: thin wrappers that check buffer types, release the GIL around the C++
// core and turn Status codes into Python exceptions. Argument checks with friendly messages live in
// fastcodec/coding; these checks are the last line of defence for direct callers of _core.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <vector>

#include "coding/cdf_table.h"
#include "coding/coder.h"
#include "coding/pmf_quantize.h"
#include "common/parallel.h"
#include "integer/context_coding.h"
#include "integer/intconv.h"
#include "transforms/gdn.h"
#include "transforms/subpixel.h"
#include "transforms/winograd.h"

namespace py = pybind11;
using fastcodec::CdfTable;
using fastcodec::Coder;
using fastcodec::Status;
using fastcodec::StatusCode;

namespace {

template <class T>
using CArray = py::array_t<T, py::array::c_style>;

[[noreturn]] void raise_status(const Status& st, const std::string& prefix = "") {
  if (st.code() == StatusCode::kInvalidArgument) throw py::value_error(prefix + st.message());
  py::object cls = py::module_::import("fastcodec.errors").attr("BitstreamError");
  PyErr_SetString(cls.ptr(), (prefix + st.message()).c_str());
  throw py::error_already_set();
}

template <class T>
CArray<T> strict_array(const py::handle& obj, const char* name) {
  if (!py::isinstance<CArray<T>>(obj)) {
    throw py::type_error(std::string(name) + " must be a C-contiguous numpy array of " +
                         py::str(py::dtype::of<T>()).cast<std::string>());
  }
  return py::reinterpret_borrow<CArray<T>>(obj);
}

// An optional float32 bias [cout] (None: none); *holder keeps the array referenced.
const float* optional_bias(const py::object& obj, int64_t cout, CArray<float>* holder) {
  if (obj.is_none()) return nullptr;
  *holder = strict_array<float>(obj, "bias");
  if (holder->ndim() != 1 || holder->shape(0) != cout) throw py::value_error("bias must be [cout]");
  return holder->data();
}

struct Bytes {
  const uint8_t* data;
  size_t size;
};

Bytes byte_view(const py::buffer_info& info, const char* name) {
  if (info.itemsize != 1 || info.ndim > 1 || (info.ndim == 1 && info.strides[0] != 1)) {
    throw py::type_error(std::string(name) + " must be a contiguous bytes-like object");
  }
  return {static_cast<const uint8_t*>(info.ptr), static_cast<size_t>(info.size)};
}

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

// ---- integer context models (fused coding loops) ----

fastcodec::IntLayer make_int_layer(const py::tuple& t) {
  if (py::len(t) != 6) throw py::value_error("a layer is (weight, bias, shift, in_amax, amax, leaky)");
  auto w = strict_array<int16_t>(t[0], "layer weight");
  auto b = strict_array<int32_t>(t[1], "layer bias");
  auto sh = strict_array<int32_t>(t[2], "layer shift");
  if (w.ndim() != 2) throw py::value_error("layer weight must be 2-D [cout, cin]");
  fastcodec::IntLayer l;
  l.cout = static_cast<int32_t>(w.shape(0));
  l.cin = static_cast<int32_t>(w.shape(1));
  l.weight.assign(w.data(), w.data() + w.size());
  l.bias.assign(b.data(), b.data() + b.size());
  l.shift.assign(sh.data(), sh.data() + sh.size());
  l.in_amax = t[3].cast<int32_t>();
  l.amax = t[4].cast<int32_t>();
  l.leaky = t[5].cast<int32_t>();
  return l;
}

std::shared_ptr<fastcodec::IntContextModel> make_context_model(int M, int order, const py::handle& taps_obj,
                                                                const py::sequence& layers, int y_frac,
                                                                const py::handle& mean_frac_obj,
                                                                const py::handle& thr_obj) {
  auto taps = strict_array<int32_t>(taps_obj, "taps");
  auto mean_frac = strict_array<int32_t>(mean_frac_obj, "mean_frac");
  auto thr = strict_array<int32_t>(thr_obj, "thresholds");
  if (order != 0 && order != 1) throw py::value_error("order must be 0 (wavefront) or 1 (checkerboard)");
  if (py::len(layers) != 4) throw py::value_error("layers must be [context, params0, params1, params2]");
  if (thr.ndim() != 2) throw py::value_error("thresholds must be 2-D [M, num_scales]");
  auto m = std::make_shared<fastcodec::IntContextModel>();
  m->M = M;
  m->order = static_cast<fastcodec::ContextOrder>(order);
  m->taps.assign(taps.data(), taps.data() + taps.size());
  m->context = make_int_layer(layers[0].cast<py::tuple>());
  for (int i = 0; i < 3; ++i) m->params[i] = make_int_layer(layers[i + 1].cast<py::tuple>());
  m->y_frac = y_frac;
  m->mean_frac.assign(mean_frac.data(), mean_frac.data() + mean_frac.size());
  m->num_scales = static_cast<int32_t>(thr.shape(1));
  m->thresholds.assign(thr.data(), thr.data() + thr.size());
  Status st = m->Validate();
  if (!st.ok()) raise_status(st);
  m->Pack();
  return m;
}

CArray<int16_t> checked_hyper(const fastcodec::IntContextModel& m, const py::handle& hyper_obj) {
  auto hyper = strict_array<int16_t>(hyper_obj, "hyper");
  if (hyper.ndim() != 3 || hyper.shape(2) != 2 * m.M) throw py::value_error("hyper must be [H, W, 2M] int16");
  return hyper;
}

py::tuple context_decode(const fastcodec::IntContextModel& m, const py::handle& hyper_obj, const CdfTable& table,
                         const py::buffer& data, int threads) {
  auto hyper = checked_hyper(m, hyper_obj);
  const int32_t H = static_cast<int32_t>(hyper.shape(0)), W = static_cast<int32_t>(hyper.shape(1));
  py::buffer_info info = data.request();
  const Bytes bytes = byte_view(info, "data");
  CArray<int32_t> symbols({static_cast<py::ssize_t>(H), static_cast<py::ssize_t>(W), static_cast<py::ssize_t>(m.M)});
  CArray<int16_t> means({static_cast<py::ssize_t>(H), static_cast<py::ssize_t>(W), static_cast<py::ssize_t>(m.M)});
  int32_t* sym = symbols.mutable_data();
  int16_t* mean = means.mutable_data();
  Status st;
  {
    py::gil_scoped_release release;
    st = fastcodec::context_decode(m, hyper.data(), H, W, table, bytes.data, bytes.size, sym, mean, threads);
  }
  if (!st.ok()) raise_status(st);
  return py::make_tuple(symbols, means);
}

py::tuple context_encode(const fastcodec::IntContextModel& m, const py::handle& hyper_obj, const py::handle& y_obj,
                         int threads) {
  auto hyper = checked_hyper(m, hyper_obj);
  auto y = strict_array<float>(y_obj, "y");
  const int32_t H = static_cast<int32_t>(hyper.shape(0)), W = static_cast<int32_t>(hyper.shape(1));
  if (y.ndim() != 3 || y.shape(0) != H || y.shape(1) != W || y.shape(2) != m.M)
    throw py::value_error("y must be [H, W, M] float32 matching hyper");
  const py::ssize_t n = static_cast<py::ssize_t>(H) * W * m.M;
  CArray<int32_t> symbols(n), indexes(n);
  CArray<int16_t> means({static_cast<py::ssize_t>(H), static_cast<py::ssize_t>(W), static_cast<py::ssize_t>(m.M)});
  int32_t* sym = symbols.mutable_data();
  int32_t* idx = indexes.mutable_data();
  int16_t* mean = means.mutable_data();
  Status st;
  {
    py::gil_scoped_release release;
    st = fastcodec::context_encode(m, hyper.data(), H, W, y.data(), sym, idx, mean, threads);
  }
  if (!st.ok()) raise_status(st);
  return py::make_tuple(symbols, indexes, means);
}

// ---- integer convolution networks (h_s) ----

std::shared_ptr<fastcodec::IntConvNet> make_conv_net(const py::sequence& layers) {
  auto net = std::make_shared<fastcodec::IntConvNet>();
  for (const py::handle& item : layers) {
    auto t = item.cast<py::tuple>();
    if (py::len(t) != 11)
      throw py::value_error("a convolution is (transposed, kernel, stride, pad, out_pad, weight, bias, shift, "
                            "in_amax, amax, leaky)");
    fastcodec::IntConv c;
    c.transposed = t[0].cast<bool>();
    c.kernel = t[1].cast<int32_t>();
    c.stride = t[2].cast<int32_t>();
    c.pad = t[3].cast<int32_t>();
    c.out_pad = t[4].cast<int32_t>();
    auto w = strict_array<int16_t>(t[5], "convolution weight");
    auto b = strict_array<int32_t>(t[6], "convolution bias");
    auto sh = strict_array<int32_t>(t[7], "convolution shift");
    if (w.ndim() != 4 || w.shape(2) != c.kernel || w.shape(3) != c.kernel)
      throw py::value_error("convolution weight must be 4-D [.., .., kernel, kernel]");
    c.cin = static_cast<int32_t>(c.transposed ? w.shape(0) : w.shape(1));
    c.cout = static_cast<int32_t>(c.transposed ? w.shape(1) : w.shape(0));
    c.weight.assign(w.data(), w.data() + w.size());
    c.bias.assign(b.data(), b.data() + b.size());
    c.shift.assign(sh.data(), sh.data() + sh.size());
    c.in_amax = t[8].cast<int32_t>();
    c.amax = t[9].cast<int32_t>();
    c.leaky = t[10].cast<int32_t>();
    net->layers.push_back(std::move(c));
  }
  Status st = net->Prepare();
  if (!st.ok()) raise_status(st);
  return net;
}

CArray<int16_t> conv_net_run(const fastcodec::IntConvNet& net, const py::handle& z_obj, int threads) {
  auto z = strict_array<int32_t>(z_obj, "z");
  if (z.ndim() != 3 || z.shape(2) != net.layers.front().cin)
    throw py::value_error("z must be [h, w, " + std::to_string(net.layers.front().cin) + "] int32");
  if (z.shape(0) > fastcodec::IntConvNet::kMaxSide || z.shape(1) > fastcodec::IntConvNet::kMaxSide)
    throw py::value_error("z is too large");
  int32_t H, W;
  const int32_t h = static_cast<int32_t>(z.shape(0)), w = static_cast<int32_t>(z.shape(1));
  if (!net.OutShape(h, w, &H, &W)) throw py::value_error("z size gives an empty or too large output");
  CArray<int16_t> out({static_cast<py::ssize_t>(H), static_cast<py::ssize_t>(W),
                       static_cast<py::ssize_t>(net.layers.back().cout)});
  int16_t* dst = out.mutable_data();
  Status st;
  {
    py::gil_scoped_release release;
    st = net.Run(z.data(), h, w, dst, threads);
  }
  if (!st.ok()) raise_status(st);
  return out;
}

// y = the 5x5 stride-2 (transposed) convolution of x through its Winograd form (csrc/transforms/winograd.h).
// Arrays of int16 carry bf16 bits (numpy has no bf16): x [h, w, cin], u [49, cin / 2, cout, 2],
// y [oh, ow, cout] written whole; bias float32 [cout] or None.
void winograd_s2(py::handle x_obj, py::handle u_obj, py::object bias_obj, bool transposed, py::handle y_obj,
                 int threads) {
  if (!fastcodec::winograd_supported()) throw py::value_error("winograd_s2 needs AVX-512 BF16 on this CPU");
  auto x = strict_array<int16_t>(x_obj, "x");
  auto u = strict_array<int16_t>(u_obj, "u");
  auto y = strict_array<int16_t>(y_obj, "y");
  if (x.ndim() != 3 || u.ndim() != 4 || y.ndim() != 3) throw py::value_error("x, y must be 3-D and u 4-D");
  const auto h = x.shape(0), w = x.shape(1), cin = x.shape(2), cout = u.shape(2);
  if (u.shape(0) != 49 || u.shape(1) * 2 != cin || u.shape(3) != 2) throw py::value_error("u must be [49, cin / 2, cout, 2]");
  if (cin % 2 != 0 || cout % 64 != 0) throw py::value_error("winograd_s2 needs an even cin and cout a multiple of 64");
  if (h < 1 || w < 1 || h > (1 << 20) || w > (1 << 20)) throw py::value_error("x has an invalid size");
  const int64_t oh = transposed ? 2 * h : (h + 1) / 2, ow = transposed ? 2 * w : (w + 1) / 2;
  if (y.shape(0) != oh || y.shape(1) != ow || y.shape(2) != cout) throw py::value_error("y has the wrong shape");
  if (!y.writeable()) throw py::value_error("y must be writable");
  CArray<float> b;
  const float* bias = optional_bias(bias_obj, cout, &b);
  const auto* xp = reinterpret_cast<const uint16_t*>(x.data());
  const auto* up = reinterpret_cast<const uint16_t*>(u.data());
  auto* yp = reinterpret_cast<uint16_t*>(y.mutable_data());
  py::gil_scoped_release release;  // x, u, bias, y stay referenced here until we return
  fastcodec::winograd_s2(xp, static_cast<int32_t>(h), static_cast<int32_t>(w), static_cast<int32_t>(cin), up, bias,
                         static_cast<int32_t>(cout), transposed, yp, threads);
}

// y = GDN(x) in one pass (csrc/transforms/gdn.h). int16 arrays carry bf16 bits: x, y [n, c], gamma_t [c / 2, c, 2];
// beta float32 [c].
void gdn_bf16(py::handle x_obj, py::handle g_obj, py::handle beta_obj, bool inverse, bool simplified, py::handle y_obj,
              int threads) {
  if (!fastcodec::winograd_supported()) throw py::value_error("gdn_bf16 needs AVX-512 BF16 on this CPU");
  auto x = strict_array<int16_t>(x_obj, "x");
  auto g = strict_array<int16_t>(g_obj, "gamma_t");
  auto beta = strict_array<float>(beta_obj, "beta");
  auto y = strict_array<int16_t>(y_obj, "y");
  if (x.ndim() != 2 || y.ndim() != 2 || g.ndim() != 3 || beta.ndim() != 1) throw py::value_error("x, y must be 2-D, gamma_t 3-D, beta 1-D");
  const auto n = x.shape(0), c = x.shape(1);
  if (c % 64 != 0 || c < 64) throw py::value_error("gdn_bf16 needs a channel count that is a multiple of 64");
  if (g.shape(0) * 2 != c || g.shape(1) != c || g.shape(2) != 2) throw py::value_error("gamma_t must be [c / 2, c, 2]");
  if (beta.shape(0) != c) throw py::value_error("beta must be [c]");
  if (y.shape(0) != n || y.shape(1) != c) throw py::value_error("y must have the shape of x");
  if (!y.writeable()) throw py::value_error("y must be writable");
  const auto* xp = reinterpret_cast<const uint16_t*>(x.data());
  const auto* gp = reinterpret_cast<const uint16_t*>(g.data());
  auto* yp = reinterpret_cast<uint16_t*>(y.mutable_data());
  const float* bp = beta.data();
  py::gil_scoped_release release;  // the arrays stay referenced here until we return
  fastcodec::gdn_bf16(xp, n, static_cast<int32_t>(c), gp, bp, inverse, simplified, yp, threads);
}

// y = the 5x5 stride-2 transposed convolution to a few channels as a sub-pixel convolution
// (csrc/transforms/subpixel.h). x: int16 carrying bf16 bits [h, w, cin]; wp: uint32 bf16 pairs
// [cin / 2, 3, 3, 2, 2, cout]; bias float32 [cout] or None; y float32 [cout, 2h, 2w], written whole.
void subpixel_s2(py::handle x_obj, py::handle wp_obj, py::object bias_obj, py::handle y_obj, int threads) {
  if (!fastcodec::winograd_supported()) throw py::value_error("subpixel_s2 needs AVX-512 BF16 on this CPU");
  auto x = strict_array<int16_t>(x_obj, "x");
  auto wp = strict_array<uint32_t>(wp_obj, "wp");
  auto y = strict_array<float>(y_obj, "y");
  if (x.ndim() != 3 || wp.ndim() != 6 || y.ndim() != 3) throw py::value_error("x, y must be 3-D and wp 6-D");
  const auto h = x.shape(0), w = x.shape(1), cin = x.shape(2), cout = wp.shape(5);
  if (cin % 2 != 0 || cin < 2) throw py::value_error("subpixel_s2 needs an even cin");
  if (wp.shape(0) * 2 != cin || wp.shape(1) != 3 || wp.shape(2) != 3 || wp.shape(3) != 2 || wp.shape(4) != 2)
    throw py::value_error("wp must be [cin / 2, 3, 3, 2, 2, cout]");
  if (cout < 1 || cout > fastcodec::kSubpixelMaxCout) throw py::value_error("subpixel_s2 supports 1 to 4 output channels");
  if (h < 1 || w < 1 || h > (1 << 20) || w > (1 << 20)) throw py::value_error("x has an invalid size");
  if (y.shape(0) != cout || y.shape(1) != 2 * h || y.shape(2) != 2 * w) throw py::value_error("y has the wrong shape");
  if (!y.writeable()) throw py::value_error("y must be writable");
  CArray<float> b;
  const float* bias = optional_bias(bias_obj, cout, &b);
  const auto* xp = reinterpret_cast<const uint16_t*>(x.data());
  const uint32_t* wpp = wp.data();
  float* yp = y.mutable_data();
  py::gil_scoped_release release;  // the arrays stay referenced here until we return
  fastcodec::subpixel_s2(xp, static_cast<int32_t>(h), static_cast<int32_t>(w), static_cast<int32_t>(cin), wpp, bias,
                         static_cast<int32_t>(cout), yp, threads);
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "fastcodec compiled core (private; use fastcodec.coding)";
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
  py::class_<fastcodec::IntContextModel, std::shared_ptr<fastcodec::IntContextModel>>(m, "IntContextModel")
      .def(py::init(&make_context_model), py::arg("M"), py::arg("order"), py::arg("taps"), py::arg("layers"),
           py::arg("y_frac"), py::arg("mean_frac"), py::arg("thresholds"));
  m.def("context_decode", &context_decode, py::arg("model"), py::arg("hyper"), py::arg("table"), py::arg("data"),
        py::arg("threads") = 1);
  m.def("context_encode", &context_encode, py::arg("model"), py::arg("hyper"), py::arg("y"), py::arg("threads") = 1);
  m.def("int_isa", [] { return std::string(fastcodec::int_isa_name(fastcodec::int_isa())); },
        "The SIMD kernel of the integer layers on this CPU (FASTCODEC_INT_ISA caps it).");
  py::class_<fastcodec::IntConvNet, std::shared_ptr<fastcodec::IntConvNet>>(m, "IntConvNet")
      .def(py::init(&make_conv_net), py::arg("layers"))
      .def("run", &conv_net_run, py::arg("z"), py::arg("threads") = 1);
  m.def("winograd_supported", &fastcodec::winograd_supported, "Whether this CPU runs winograd_s2 (AVX-512 BF16).");
  m.def("winograd_s2", &winograd_s2, py::arg("x"), py::arg("u"), py::arg("bias"), py::arg("transposed"), py::arg("y"),
        py::arg("threads") = 0);
  m.def("gdn_bf16", &gdn_bf16, py::arg("x"), py::arg("gamma_t"), py::arg("beta"), py::arg("inverse"),
        py::arg("simplified"), py::arg("y"), py::arg("threads") = 0);
  m.def("subpixel_s2", &subpixel_s2, py::arg("x"), py::arg("wp"), py::arg("bias"), py::arg("y"), py::arg("threads") = 0);
  m.def("max_encoded_size", [](int64_t n, int64_t escapes, int coder) {
    return to_coder(coder) == Coder::kAns ? fastcodec::rans_max_size(n, escapes) : fastcodec::range_max_size(n, escapes);
  }, py::arg("n"), py::arg("escapes"), py::arg("coder"));
}
