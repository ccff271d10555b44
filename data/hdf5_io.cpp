#include "data/hdf5_io.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "data/atomic_file.hpp"

namespace trd::hdf5 {
namespace {

H5::StrType utf8_string_type() {
  H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
  type.setCset(H5T_CSET_UTF8);
  return type;
}

H5::Attribute open_attribute(const H5::H5Object& object, const std::string& name,
                             const std::string& path, H5T_class_t expected_class,
                             const char* expected) {
  if (!object.attrExists(name)) {
    throw InputError(path + ": missing attribute '" + name + "' (" + expected + ")");
  }
  H5::Attribute attribute = object.openAttribute(name);
  if (attribute.getTypeClass() != expected_class) {
    throw InputError(path + ": attribute '" + name + "' is not " + expected);
  }
  return attribute;
}

// HDF5's C++ API prints its error stack before throwing; trd reports errors
// itself, once, so the stack printing is switched off for the whole process.
const bool kQuietHdf5 = [] {
  H5::Exception::dontPrint();
  return true;
}();

}  // namespace

void write_atomically(const std::string& path, const std::function<void(H5::H5File&)>& fill) {
  (void)kQuietHdf5;
  replace_atomically(path, [&](const std::string& temporary) {
    try {
      // The 1.10 file format checksums its metadata (superblock, object
      // headers and their attributes): a damaged file then fails to open or
      // read, where the 1.8 format let libhdf5 follow a flipped heap address
      // into a segfault.
      H5::FileAccPropList access;
      access.setLibverBounds(H5F_LIBVER_V110, H5F_LIBVER_V110);
      H5::FileCreatPropList creation;  // the root group's header: no times, same bytes
      H5Pset_obj_track_times(creation.getId(), false);
      H5::H5File file(temporary, H5F_ACC_TRUNC, creation, access);
      fill(file);
      file.flush(H5F_SCOPE_GLOBAL);
      // An object left open keeps the file open past the rename, unfinished.
      if (H5Fget_obj_count(file.getId(), H5F_OBJ_ALL) != 1) {
        throw std::logic_error(path + ": an HDF5 object was left open while writing");
      }
    } catch (const H5::Exception& error) {
      throw std::runtime_error(path + ": cannot write HDF5 file: " + error.getDetailMsg());
    }
  });
}

namespace {

// libhdf5 1.10 trusts the object sizes in a global heap collection, where
// variable-length strings live, and copies past the collection when a size is
// damaged (a segfault in H5HG_read). The format has no checksum there, so
// every collection's object table is checked against its bounds first
// (HDF5 file format specification, section III.E; 8-byte lengths, as trd
// and h5py write).
void check_global_heaps(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string content((std::istreambuf_iterator<char>(in)), {});
  auto number = [&](std::size_t offset, int width) {
    uint64_t value = 0;
    for (int i = width - 1; i >= 0; --i) {
      value = (value << 8) | static_cast<unsigned char>(content[offset + i]);
    }
    return value;
  };
  auto damaged = [&](std::size_t at) {
    throw InputError(path + ": damaged global heap at byte " + std::to_string(at) +
                     " (where variable-length strings are kept; corrupted?)");
  };
  for (std::size_t at = content.find("GCOL"); at != std::string::npos;
       at = content.find("GCOL", at + 4)) {
    if (at + 16 > content.size() || content[at + 4] != 1) continue;  // not a collection
    const uint64_t size = number(at + 8, 8);
    if (size < 16 || size > content.size() - at) damaged(at);
    for (uint64_t object = at + 16; object + 16 <= at + size;) {
      const uint64_t index = number(object, 2);
      const uint64_t length = number(object + 8, 8);
      if (index == 0) break;  // the free space that ends the table
      const uint64_t padded = (length + 7) / 8 * 8;
      if (padded < length || padded > at + size - object - 16) damaged(object);
      object += 16 + padded;
    }
  }
}

}  // namespace

H5::H5File open_for_reading(const std::string& path) {
  (void)kQuietHdf5;
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) throw InputError(path + ": no such file");
  check_global_heaps(path);
  try {
    if (!H5::H5File::isHdf5(path)) throw InputError(path + ": not an HDF5 file");
    return H5::H5File(path, H5F_ACC_RDONLY);
  } catch (const H5::Exception& h5_error) {
    throw InputError(path + ": cannot be opened as HDF5 (corrupted?): " + h5_error.getDetailMsg());
  }
}

H5::Group create_group(H5::Group& parent, const std::string& name) {
  // The C++ API of HDF5 1.10 has no group-creation property list class.
  const hid_t properties = H5Pcreate(H5P_GROUP_CREATE);
  H5Pset_obj_track_times(properties, false);
  const hid_t id = H5Gcreate2(parent.getId(), name.c_str(), H5P_DEFAULT, properties, H5P_DEFAULT);
  H5Pclose(properties);
  if (id < 0) throw H5::GroupIException("create_group", "cannot create group " + name);
  // H5::Group(hid_t) takes a reference of its own; without closing ours the
  // group stayed open, and with it the file, after the rename that should
  // have completed it (its bytes changed again at process exit).
  H5::Group group(id);
  H5Gclose(id);
  return group;
}

H5::DataSet create_dataset(H5::Group& group, const std::string& name, const H5::DataType& type,
                           const H5::DataSpace& space) {
  H5::DSetCreatPropList properties;
  H5Pset_obj_track_times(properties.getId(), false);
  return group.createDataSet(name, type, space, properties);
}

namespace {

std::string format_of(const H5::H5File& file, const std::string& path) {
  try {
    if (!hdf5::has_attribute(file, "format")) {
      throw InputError(path + ": not a trd file (HDF5 without a 'format' attribute)");
    }
    return hdf5::read_string_attribute(file, "format", path);
  } catch (const H5::Exception& error) {
    throw InputError(path + ": unreadable HDF5 content (corrupted?): " + error.getDetailMsg());
  }
}

}  // namespace

std::string read_format(const std::string& path) {
  return format_of(hdf5::open_for_reading(path), path);
}

// Opens the file once: open_for_reading reads all of it to check its heaps.
H5::H5File open_trd_file(const std::string& path, const std::string& format, int64_t version) {
  H5::H5File file = hdf5::open_for_reading(path);
  const std::string found = format_of(file, path);
  if (found != format) {
    throw InputError(path + ": format is '" + found + "', expected '" + format + "'");
  }
  try {
    const int64_t found_version = hdf5::read_int_attribute(file, "version", path);
    if (found_version != version) {
      throw InputError(path + ": " + format + " version " + std::to_string(found_version) +
                       " is not supported (this trd reads version " + std::to_string(version) +
                       ")");
    }
  } catch (const H5::Exception& error) {
    throw InputError(path + ": unreadable HDF5 content (corrupted?): " + error.getDetailMsg());
  }
  return file;
}

void write_attribute(H5::H5Object& object, const std::string& name, const std::string& value) {
  const H5::StrType type = utf8_string_type();
  object.createAttribute(name, type, H5::DataSpace(H5S_SCALAR)).write(type, value);
}

void write_attribute(H5::H5Object& object, const std::string& name, int64_t value) {
  object.createAttribute(name, H5::PredType::STD_I64LE, H5::DataSpace(H5S_SCALAR))
      .write(H5::PredType::NATIVE_INT64, &value);
}

void write_attribute(H5::H5Object& object, const std::string& name, double value) {
  object.createAttribute(name, H5::PredType::IEEE_F64LE, H5::DataSpace(H5S_SCALAR))
      .write(H5::PredType::NATIVE_DOUBLE, &value);
}

void write_attribute(H5::H5Object& object, const std::string& name,
                     const std::vector<double>& values) {
  const hsize_t dims[1] = {values.size()};
  object.createAttribute(name, H5::PredType::IEEE_F64LE, H5::DataSpace(1, dims))
      .write(H5::PredType::NATIVE_DOUBLE, values.data());
}

bool has_attribute(const H5::H5Object& object, const std::string& name) {
  return object.attrExists(name);
}

std::string read_string_attribute(const H5::H5Object& object, const std::string& name,
                                  const std::string& path) {
  H5::Attribute attribute = open_attribute(object, name, path, H5T_STRING, "a string");
  // Read through raw buffers: the C++ API's std::string overload calls
  // strlen on whatever a damaged file holds (a null pointer, a segfault), and
  // reads an array of strings into room for one.
  if (attribute.getSpace().getSimpleExtentNpoints() != 1) {
    throw InputError(path + ": attribute '" + name + "' is not a single string");
  }
  const H5::StrType type = attribute.getStrType();
  std::string value;
  if (type.isVariableStr()) {
    char* text = nullptr;
    attribute.read(type, static_cast<void*>(&text));
    if (text == nullptr) {
      throw InputError(path + ": attribute '" + name + "' holds no string (corrupted?)");
    }
    value = text;
    H5free_memory(text);
  } else {
    value.assign(type.getSize(), '\0');
    attribute.read(type, static_cast<void*>(value.data()));
  }
  // Fixed-length strings written by other tools may carry NUL padding.
  value.erase(value.find_last_not_of('\0') + 1);
  return value;
}

int64_t read_int_attribute(const H5::H5Object& object, const std::string& name,
                           const std::string& path) {
  H5::Attribute attribute = open_attribute(object, name, path, H5T_INTEGER, "an integer");
  if (attribute.getSpace().getSimpleExtentNpoints() != 1) {
    throw InputError(path + ": attribute '" + name + "' is not a single integer");
  }
  int64_t value = 0;
  attribute.read(H5::PredType::NATIVE_INT64, &value);
  return value;
}

double read_double_attribute(const H5::H5Object& object, const std::string& name,
                             const std::string& path) {
  H5::Attribute attribute = open_attribute(object, name, path, H5T_FLOAT, "a number");
  if (attribute.getSpace().getSimpleExtentNpoints() != 1) {
    throw InputError(path + ": attribute '" + name + "' is not a single number");
  }
  double value = 0;
  attribute.read(H5::PredType::NATIVE_DOUBLE, &value);
  return value;
}

std::vector<double> read_double_array_attribute(const H5::H5Object& object, const std::string& name,
                                                const std::string& path) {
  H5::Attribute attribute = open_attribute(object, name, path, H5T_FLOAT, "an array of numbers");
  std::vector<double> values(
      static_cast<std::size_t>(attribute.getSpace().getSimpleExtentNpoints()));
  if (!values.empty()) attribute.read(H5::PredType::NATIVE_DOUBLE, values.data());
  return values;
}

void write_raw_ids(H5::Group& group, const std::string& name, const RawIds& ids) {
  if (ids.is_integer()) {
    write_array(group, name, ids.integers);
    return;
  }
  std::vector<const char*> pointers;
  pointers.reserve(ids.strings.size());
  for (const std::string& s : ids.strings) pointers.push_back(s.c_str());
  const hsize_t dims[1] = {pointers.size()};
  const H5::StrType type = utf8_string_type();
  H5::DataSet dataset = create_dataset(group, name, type, H5::DataSpace(1, dims));
  if (!pointers.empty()) dataset.write(pointers.data(), type);
}

RawIds read_raw_ids(const H5::Group& group, const std::string& name, const std::string& path) {
  if (!group.nameExists(name)) throw InputError(path + ": missing dataset '" + name + "'");
  RawIds ids;
  H5::DataSet dataset = group.openDataSet(name);
  if (dataset.getTypeClass() == H5T_INTEGER) {
    ids.integers = read_array<int64_t>(group, name, /*rank=*/1, path);
    return ids;
  }
  if (dataset.getTypeClass() != H5T_STRING || !dataset.getStrType().isVariableStr()) {
    throw InputError(path + ": dataset '" + name +
                     "' must hold int64 or variable-length UTF-8 strings");
  }
  H5::DataSpace space = dataset.getSpace();
  if (space.getSimpleExtentNdims() != 1) {
    throw InputError(path + ": dataset '" + name + "' must be one-dimensional");
  }
  std::vector<char*> pointers(static_cast<std::size_t>(space.getSimpleExtentNpoints()));
  if (pointers.empty()) return ids;
  const H5::StrType type = utf8_string_type();
  dataset.read(pointers.data(), type);
  ids.strings.reserve(pointers.size());
  for (char* p : pointers) ids.strings.emplace_back(p == nullptr ? "" : p);
  H5::DataSet::vlenReclaim(pointers.data(), type, space);
  return ids;
}

}  // namespace trd::hdf5
