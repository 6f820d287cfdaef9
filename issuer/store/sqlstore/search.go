package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/healthcards/healthcards/internal/sqldb"
	"github.com/healthcards/healthcards/issuer/store"
	"github.com/healthcards/healthcards/issuer/store/internal/check"
)

// putNames replaces a patient's search keys (table patient_names) in tx.
func (s *Store) putNames(ctx context.Context, tx execer, patientID string, patient []byte) error {
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM patient_names WHERE patient_id = ?`), patientID); err != nil {
		return err
	}
	keys := check.NameKeys(patient)
	if len(keys) == 0 {
		return nil
	}
	args := make([]any, 0, 5*len(keys))
	for i, k := range keys {
		args = append(args, patientID, i, k.Family, k.Given, k.BirthDate)
	}
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO patient_names (patient_id, n, family, given, birth_date)
		VALUES `+sqldb.Values(len(keys), 5)+` ON CONFLICT (patient_id, n) DO NOTHING`), args...)
	return err
}

// indexNames fills the search keys of patients stored before schema
// version 2, in batches; replicas opening together may both do it (the
// inserts are idempotent).
func (s *Store) indexNames(ctx context.Context) error {
	for {
		rows, err := s.w.QueryContext(ctx, s.q(`SELECT id, resource FROM patients p WHERE resource IS NOT NULL
			AND NOT EXISTS (SELECT 1 FROM patient_names n WHERE n.patient_id = p.id) ORDER BY id LIMIT ?`), maxInsertRows)
		if err != nil {
			return err
		}
		type pat struct {
			id  string
			res []byte
		}
		var batch []pat
		for rows.Next() {
			var p pat
			if err := rows.Scan(&p.id, &p.res); err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		indexed := 0
		for _, p := range batch {
			if len(check.NameKeys(p.res)) > 0 {
				indexed++
			}
			if err := s.putNames(ctx, tx, p.id, p.res); err != nil {
				tx.Rollback()
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		if indexed == 0 {
			return nil // only resources that do not parse are left
		}
	}
}

// FindPatients implements store.PatientSearch with LIKE prefixes on the
// lower-cased keys (escaped, so % and _ in a query match themselves).
func (s *Store) FindPatients(ctx context.Context, q store.PatientQuery) ([]store.PatientMatch, error) {
	q, err := check.PatientQuery(q)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: find patients: %w", err)
	}
	where, args := `TRUE`, []any{}
	if q.Family != "" {
		where += ` AND family LIKE ? ESCAPE '\'`
		args = append(args, check.LikePrefix(q.Family))
	}
	if q.Given != "" {
		where += ` AND given LIKE ? ESCAPE '\'`
		args = append(args, "% "+check.LikePrefix(q.Given))
	}
	if q.BirthDate != "" {
		where += ` AND birth_date = ?`
		args = append(args, q.BirthDate)
	}
	args = append(args, q.Limit)
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id, resource FROM patients WHERE resource IS NOT NULL
		AND id IN (SELECT patient_id FROM patient_names WHERE `+where+`) ORDER BY id LIMIT ?`), args...)
	if err != nil {
		return nil, fail(ctx, "find patients", err)
	}
	defer rows.Close()
	var out []store.PatientMatch
	for rows.Next() {
		var m store.PatientMatch
		var b []byte
		if err := rows.Scan(&m.ID, &b); err != nil {
			return nil, fail(ctx, "find patients", err)
		}
		m.Patient = json.RawMessage(b)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(ctx, "find patients", err)
	}
	return out, nil
}

// PatientCards implements store.PatientSearch.
func (s *Store) PatientCards(ctx context.Context, patientID string, limit int) ([]store.IssuedCard, error) {
	limit, err := check.CardsLimit(limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: patient cards: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id, kid, rid, types, issued_at, jws FROM cards
		WHERE patient_id = ? ORDER BY issued_at, id LIMIT ?`), patientID, limit)
	if err != nil {
		return nil, fail(ctx, "patient cards", err)
	}
	defer rows.Close()
	var out []store.IssuedCard
	for rows.Next() {
		c := store.IssuedCard{PatientID: patientID}
		var types string
		var issued timeCol
		if err := rows.Scan(&c.ID, &c.Kid, &c.RID, &types, &issued, &c.JWS); err != nil {
			return nil, fail(ctx, "patient cards", err)
		}
		c.IssuedAt = issued.t
		if c.Types, err = decodeList(types); err != nil {
			return nil, fmt.Errorf("sqlstore: patient cards: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(ctx, "patient cards", err)
	}
	return out, nil
}
