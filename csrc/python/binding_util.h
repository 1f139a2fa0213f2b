// Helpers shared by the binding files (register_*.cpp): strict numpy arguments, contiguous byte
// buffers and the translation of a Status into a Python exception. pybind11 code only; the C++
// core never includes this.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>  // in every binding file, so all see the same type casters

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/status.h"

namespace fastcodec_bindings {

namespace py = pybind11;

template <class T>
using CArray = py::array_t<T, py::array::c_style>;

// InvalidArgument -> ValueError; anything else -> the class given to _core.set_bitstream_error
// (fastcodec.errors.BitstreamError once fastcodec._native is imported), ValueError until then.
// `prefix` goes before the message. Call with the GIL held.
[[noreturn]] void raise_status(const fastcodec::Status& st, const std::string& prefix = "");

// obj as a C-contiguous array of T without conversion (TypeError naming `name` otherwise).
template <class T>
CArray<T> strict_array(const py::handle& obj, const char* name) {
  if (!py::isinstance<CArray<T>>(obj)) {
    throw py::type_error(std::string(name) + " must be a C-contiguous numpy array of " +
                         py::str(py::dtype::of<T>()).cast<std::string>());
  }
  return py::reinterpret_borrow<CArray<T>>(obj);
}

struct Bytes {
  const uint8_t* data;
  size_t size;
};

// The bytes of a 1-byte-item, contiguous buffer (bytes, bytearray, memoryview, uint8 array).
inline Bytes byte_view(const py::buffer_info& info, const char* name) {
  if (info.itemsize != 1 || info.ndim > 1 || (info.ndim == 1 && info.strides[0] != 1)) {
    throw py::type_error(std::string(name) + " must be a contiguous bytes-like object");
  }
  return {static_cast<const uint8_t*>(info.ptr), static_cast<size_t>(info.size)};
}

// Each adds one area's classes and functions to the module. register_coding first: the others'
// signatures name CdfTable, which must be registered by then to show under its Python name.
void register_coding(py::module_& m);
void register_integer(py::module_& m);
void register_transforms(py::module_& m);

}  // namespace fastcodec_bindings
