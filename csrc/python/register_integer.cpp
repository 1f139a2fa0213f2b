// Bindings of the integer prior path (csrc/integer/): the context models with their fused coding
// loops and the int32 convolution networks (h_s).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "binding_util.h"
#include "coding/cdf_table.h"
#include "integer/context_coding.h"
#include "integer/intconv.h"
#include "integer/intgemm.h"

namespace fastcodec_bindings {
namespace {

using fastcodec::CdfTable;
using fastcodec::Status;

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

}  // namespace

void register_integer(py::module_& m) {
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
}

}  // namespace fastcodec_bindings
