#pragma once

// HDF5 plumbing shared by the dataset and knowledge files. Only data/*.cpp
// include this header, so H5Cpp.h stays out of the public API.

#include <H5Cpp.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/error.hpp"
#include "data/interactions.hpp"

namespace trd::hdf5 {

template <typename T>
struct Types;
template <>
struct Types<int32_t> {
  static const H5::PredType& file() { return H5::PredType::STD_I32LE; }
  static const H5::PredType& memory() { return H5::PredType::NATIVE_INT32; }
  static constexpr H5T_class_t kClass = H5T_INTEGER;
};
template <>
struct Types<int64_t> {
  static const H5::PredType& file() { return H5::PredType::STD_I64LE; }
  static const H5::PredType& memory() { return H5::PredType::NATIVE_INT64; }
  static constexpr H5T_class_t kClass = H5T_INTEGER;
};
template <>
struct Types<float> {
  static const H5::PredType& file() { return H5::PredType::IEEE_F32LE; }
  static const H5::PredType& memory() { return H5::PredType::NATIVE_FLOAT; }
  static constexpr H5T_class_t kClass = H5T_FLOAT;
};
template <>
struct Types<double> {
  static const H5::PredType& file() { return H5::PredType::IEEE_F64LE; }
  static const H5::PredType& memory() { return H5::PredType::NATIVE_DOUBLE; }
  static constexpr H5T_class_t kClass = H5T_FLOAT;
};

/// Creates `path` so that a crash or an exception never leaves a partial file
/// under that name: `fill` writes a temporary file in the same folder, which
/// replaces `path` only once it is complete.
void write_atomically(const std::string& path, const std::function<void(H5::H5File&)>& fill);

/// Opens an existing HDF5 file read-only; InputError if it is missing or not HDF5.
H5::H5File open_for_reading(const std::string& path);

/// The 'format' attribute of a trd file; InputError if the file is missing, not
/// HDF5, or has no such attribute.
std::string read_format(const std::string& path);

/// Opens a trd file read-only after checking its 'format' attribute and
/// version; InputError naming the file and what was expected otherwise.
H5::H5File open_trd_file(const std::string& path, const std::string& format, int64_t version);

void write_attribute(H5::H5Object& object, const std::string& name, const std::string& value);
void write_attribute(H5::H5Object& object, const std::string& name, int64_t value);
void write_attribute(H5::H5Object& object, const std::string& name, double value);
void write_attribute(H5::H5Object& object, const std::string& name,
                     const std::vector<double>& values);

bool has_attribute(const H5::H5Object& object, const std::string& name);
/// These throw InputError naming `path` when the attribute is absent or of another type.
std::string read_string_attribute(const H5::H5Object& object, const std::string& name,
                                  const std::string& path);
int64_t read_int_attribute(const H5::H5Object& object, const std::string& name,
                           const std::string& path);
double read_double_attribute(const H5::H5Object& object, const std::string& name,
                             const std::string& path);
std::vector<double> read_double_array_attribute(const H5::H5Object& object, const std::string& name,
                                                const std::string& path);

/// Creates a group or dataset without modification times, so the same content
/// always gives a byte-identical file (HDF5 stamps objects by default).
H5::Group create_group(H5::Group& parent, const std::string& name);
H5::DataSet create_dataset(H5::Group& group, const std::string& name, const H5::DataType& type,
                           const H5::DataSpace& space);

/// Writes a 1-D or 2-D (rows x cols) array stored row-major in `values`.
template <typename T>
void write_array(H5::Group& group, const std::string& name, const std::vector<T>& values,
                 hsize_t cols = 0) {
  const int rank = cols == 0 ? 1 : 2;
  const hsize_t dims[2] = {cols == 0 ? values.size() : values.size() / cols, cols};
  H5::DataSpace space(rank, dims);
  H5::DataSet dataset = create_dataset(group, name, Types<T>::file(), space);
  if (!values.empty()) dataset.write(values.data(), Types<T>::memory());
}

/// Shape of dataset `name` (one entry per dimension); InputError naming the
/// file and dataset path if it is absent or its elements are not of T's class.
template <typename T>
std::vector<hsize_t> array_shape(const H5::Group& group, const std::string& name,
                                 const std::string& path) {
  if (!group.nameExists(name)) throw InputError(path + ": missing dataset '" + name + "'");
  H5::DataSet dataset = group.openDataSet(name);
  if (dataset.getTypeClass() != Types<T>::kClass) {
    throw InputError(path + ": dataset '" + name + "' has elements of the wrong type (expected " +
                     (Types<T>::kClass == H5T_INTEGER ? "integers" : "floating point") + ")");
  }
  H5::DataSpace space = dataset.getSpace();
  std::vector<hsize_t> dims(static_cast<std::size_t>(space.getSimpleExtentNdims()));
  space.getSimpleExtentDims(dims.data());
  return dims;
}

/// Reads dataset `name` (converted to T) with the given rank; InputError naming
/// the file and dataset path if it is absent, of another rank or type class.
template <typename T>
std::vector<T> read_array(const H5::Group& group, const std::string& name, int rank,
                          const std::string& path) {
  const std::vector<hsize_t> dims = array_shape<T>(group, name, path);
  if (static_cast<int>(dims.size()) != rank) {
    throw InputError(path + ": dataset '" + name + "' has " + std::to_string(dims.size()) +
                     " dimensions, expected " + std::to_string(rank));
  }
  std::size_t count = 1;
  for (hsize_t d : dims) count *= d;
  std::vector<T> values(count);
  if (count > 0) group.openDataSet(name).read(values.data(), Types<T>::memory());
  return values;
}

/// Raw ids as int64 when they are integers, else variable-length UTF-8 strings.
void write_raw_ids(H5::Group& group, const std::string& name, const RawIds& ids);
RawIds read_raw_ids(const H5::Group& group, const std::string& name, const std::string& path);

}  // namespace trd::hdf5
