#pragma once
// Schema versions and the migrations between them; docs/schema.md describes the
// tables. PRAGMA user_version holds the version a database is at.
#include <span>
#include <string>
#include <string_view>

struct sqlite3;

namespace scalelab::store::schema {

// 'SCAL' in PRAGMA application_id marks a file as a scalelab store, so opening
// some other program's database fails instead of "migrating" it.
inline constexpr int kApplicationId = 0x5343414c;

// migrations()[i] takes a database from version i to i + 1. Append only: a step
// that has shipped is never edited, since databases out there already ran it.
std::span<const std::string_view> migrations();
// Refuses another program's SQLite file, or a newer scalelab's, before anything changes it.
void check_identity(sqlite3* db, const std::string& path);
inline int latest() { return static_cast<int>(migrations().size()); }

int user_version(sqlite3* db);

// Brings the database to version steps.size(), one BEGIN IMMEDIATE transaction per
// step that also bumps user_version, so several processes opening a fresh file at
// once upgrade it exactly once and a failed step leaves the previous version
// intact. Throws UserError naming `path` for a database newer than `steps` or one
// that is not a scalelab store. Leaves foreign_keys OFF (a step that rebuilds a
// table needs them off; each step is checked with foreign_key_check instead): the
// caller turns them back on.
void migrate(sqlite3* db, const std::string& path, std::span<const std::string_view> steps);

}  // namespace scalelab::store::schema
