// fastcodec._core, the only pybind11 code (csrc/python/): thin wrappers that check buffer types,
// release the GIL around the C++ core and turn Status codes into Python exceptions. Argument checks
// with friendly messages live in fastcodec/coding; these checks are the last line of defence for
// direct callers of _core.
//
// One binding file per layer of csrc/: register_coding.cpp, register_integer.cpp,
// register_transforms.cpp; helpers they share are in binding_util.h.
#include <string>

#include "binding_util.h"

namespace fastcodec_bindings {

[[noreturn]] void raise_status(const fastcodec::Status& st, const std::string& prefix) {
  if (st.code() == fastcodec::StatusCode::kInvalidArgument) throw py::value_error(prefix + st.message());
  py::object cls = py::module_::import("fastcodec.errors").attr("BitstreamError");
  PyErr_SetString(cls.ptr(), (prefix + st.message()).c_str());
  throw py::error_already_set();
}

}  // namespace fastcodec_bindings

PYBIND11_MODULE(_core, m) {
  m.doc() = "fastcodec compiled core (private; use fastcodec.coding)";
  fastcodec_bindings::register_coding(m);  // first: the others' signatures name CdfTable
  fastcodec_bindings::register_integer(m);
  fastcodec_bindings::register_transforms(m);
}
