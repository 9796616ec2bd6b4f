// A run's tokenization and its losses in bits per byte (store.h, docs/schema.md).
#include "common/error.h"
#include "store/sqlite.h"
#include "store/store.h"
#include "trainer/bpb.h"

namespace scalelab::store {

void Store::set_tokenization(const Run& r) {
  sql::write(db_, [&] {
    sql::Stmt st(db_, "UPDATE runs SET tokenizer = ?2, bytes_per_token = ?3, train_bytes_per_token = ?4 WHERE id = ?1");
    st.bind_text(1, r.id).bind_text_or_null(2, r.tokenizer).bind_real(3, r.bytes_per_token).bind_real(4,
        r.train_bytes_per_token);
    st.run();
    if (sqlite3_changes(db_) == 0) user_error("{}: no run '{}'", path_, r.id);
  });
}

std::optional<double> loss_bpb(std::optional<double> nats_per_token, std::optional<double> bytes_per_token) {
  if (!nats_per_token || !bytes_per_token || !(*bytes_per_token > 0)) return std::nullopt;
  return trainer::bits_per_byte(*nats_per_token, *bytes_per_token);
}

}  // namespace scalelab::store
