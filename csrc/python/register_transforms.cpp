// Bindings of the bf16 CPU kernels of the float transforms (csrc/transforms/): Winograd stride-2
// layers, fused GDN and the sub-pixel last layer.
#include <cstdint>

#include "binding_util.h"
#include "transforms/gdn.h"
#include "transforms/subpixel.h"
#include "transforms/winograd.h"

namespace fastcodec_bindings {
namespace {

// An optional float32 bias [cout] (None: none); *holder keeps the array referenced.
const float* optional_bias(const py::object& obj, int64_t cout, CArray<float>* holder) {
  if (obj.is_none()) return nullptr;
  *holder = strict_array<float>(obj, "bias");
  if (holder->ndim() != 1 || holder->shape(0) != cout) throw py::value_error("bias must be [cout]");
  return holder->data();
}

// y = the 5x5 stride-2 (transposed) convolution of x through its Winograd form
// (csrc/transforms/winograd.h). Arrays of int16 carry bf16 bits (numpy has no bf16): x [h, w, cin],
// u [49, cin / 2, cout, 2], y [oh, ow, cout] written whole; bias float32 [cout] or None.
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

// y = GDN(x) in one pass (csrc/transforms/gdn.h). int16 arrays carry bf16 bits: x, y [n, c],
// gamma_t [c / 2, c, 2]; beta float32 [c].
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

void register_transforms(py::module_& m) {
  m.def("winograd_supported", &fastcodec::winograd_supported, "Whether this CPU runs winograd_s2 (AVX-512 BF16).");
  m.def("winograd_s2", &winograd_s2, py::arg("x"), py::arg("u"), py::arg("bias"), py::arg("transposed"), py::arg("y"),
        py::arg("threads") = 0);
  m.def("gdn_bf16", &gdn_bf16, py::arg("x"), py::arg("gamma_t"), py::arg("beta"), py::arg("inverse"),
        py::arg("simplified"), py::arg("y"), py::arg("threads") = 0);
  m.def("subpixel_s2", &subpixel_s2, py::arg("x"), py::arg("wp"), py::arg("bias"), py::arg("y"), py::arg("threads") = 0);
}

}  // namespace fastcodec_bindings
