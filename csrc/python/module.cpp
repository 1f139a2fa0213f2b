// fastcodec._core, the only pybind11 code (csrc/python/): thin wrappers that check buffer types,
// release the GIL around the C++ core and turn Status codes into Python exceptions. Argument checks
// with friendly messages live in fastcodec/coding; these checks are the last line of defence for
// direct callers of _core.
//
// One binding file per layer of csrc/: register_coding.cpp, register_integer.cpp,
// register_transforms.cpp; helpers they share are in binding_util.h.
#include <string>

#include "binding_util.h"

namespace py = pybind11;

namespace fastcodec_bindings {
namespace {

// The class raised for corrupt or truncated streams: a strong reference set by
// set_bitstream_error (fastcodec/_native.py installs fastcodec.errors.BitstreamError), released
// when the module is freed; null: ValueError. Read and written with the GIL held only.
PyObject* bitstream_error = nullptr;

void set_bitstream_error(const py::object& cls) {
  if (!cls.is_none()) {
    const int sub = PyType_Check(cls.ptr()) ? PyObject_IsSubclass(cls.ptr(), PyExc_ValueError) : 0;
    if (sub < 0) throw py::error_already_set();
    if (sub == 0) throw py::type_error("the bitstream error class must be a subclass of ValueError (or None)");
  }
  PyObject* old = bitstream_error;
  bitstream_error = cls.is_none() ? nullptr : cls.inc_ref().ptr();
  Py_XDECREF(old);
}

void release_bitstream_error() { Py_CLEAR(bitstream_error); }

}  // namespace

[[noreturn]] void raise_status(const fastcodec::Status& st, const std::string& prefix) {
  if (st.code() == fastcodec::StatusCode::kInvalidArgument || bitstream_error == nullptr) {
    throw py::value_error(prefix + st.message());
  }
  PyErr_SetString(bitstream_error, (prefix + st.message()).c_str());
  throw py::error_already_set();
}

}  // namespace fastcodec_bindings

PYBIND11_MODULE(_core, m) {
  m.doc() = "fastcodec compiled core (private; use fastcodec.coding)";
  fastcodec_bindings::register_coding(m);  // first: the others' signatures name CdfTable
  fastcodec_bindings::register_integer(m);
  fastcodec_bindings::register_transforms(m);
  m.def("set_bitstream_error", &fastcodec_bindings::set_bitstream_error, py::arg("cls"),
        "Sets the exception class raised for corrupt or truncated streams: a subclass of ValueError, or None "
        "for ValueError itself (the default). fastcodec._native installs fastcodec.errors.BitstreamError.");
  // Its destructor drops the reference to the class when the module is freed, while Python still runs.
  m.add_object("_release_bitstream_error", py::capsule(&fastcodec_bindings::release_bitstream_error));
}
