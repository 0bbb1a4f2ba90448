#include "support/profile_builder.hpp"

#include <utility>

#include "support/gzip.hpp"

namespace memstrain::testing {

ProfileBuilder::ProfileBuilder() {
  str("");
  for (auto [type, unit] : {std::pair{"alloc_objects", "count"}, std::pair{"alloc_space", "bytes"}, std::pair{"inuse_objects", "count"},
                            std::pair{"inuse_space", "bytes"}}) {
    auto* vt = p.add_sample_type();
    vt->set_type(str(type));
    vt->set_unit(str(unit));
  }
  auto* m = p.add_mapping();
  m->set_id(1);
  m->set_filename(str("/usr/bin/target"));
  m->set_has_functions(true);
}

std::int64_t ProfileBuilder::str(const std::string& s) {
  auto it = strings_.find(s);
  if (it != strings_.end()) return it->second;
  p.add_string_table(s);
  return strings_[s] = p.string_table_size() - 1;
}

std::uint64_t ProfileBuilder::fn(const std::string& name) {
  auto it = functions_.find(name);
  if (it != functions_.end()) return it->second;
  auto* f = p.add_function();
  f->set_id(static_cast<std::uint64_t>(p.function_size()));
  f->set_name(str(name));
  f->set_system_name(str(name));
  f->set_filename(str("main.go"));
  return functions_[name] = f->id();
}

std::uint64_t ProfileBuilder::loc(const std::vector<std::string>& names) {
  auto* l = p.add_location();
  l->set_id(static_cast<std::uint64_t>(p.location_size()));
  l->set_mapping_id(1);
  l->set_address(0x1000 + l->id());
  for (const auto& n : names) {
    auto* line = l->add_line();
    line->set_function_id(fn(n));
    line->set_line(10);
  }
  return l->id();
}

void ProfileBuilder::sample(const std::vector<std::uint64_t>& locs, std::vector<std::int64_t> values) {
  auto* s = p.add_sample();
  for (auto l : locs) s->add_location_id(l);
  for (auto v : values) s->add_value(v);
  auto* label = s->add_label();
  label->set_key(str("bytes"));
  label->set_num(64);
}

std::string ProfileBuilder::gz() const { return gzip(bytes()); }

}  // namespace memstrain::testing
