package store

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"testing"
)

// shippedMigrations holds the SHA-256 of every migration file that has shipped. A
// database migrated past a file never runs it again, so a change to it would reach new
// databases only, and the two would drift apart. Add a line here with every new
// migration; never change one.
var shippedMigrations = map[string]string{
	"0001_registry.sql":                 "873b11ff06e0f0c9b642f8dd991f79f3b9385a6b016b70cc72b5e9a1ee67846a",
	"0002_stage_history.sql":            "249ba2fb27335c8ca8ffc941a72f85725dea78a08b9c99c62c71d1d75834d9b1",
	"0003_stage_requirements.sql":       "799ab3d5a181d348f583e1976ba7bfadd8c72ae039be449a29c9849e42288d08",
	"0004_user_fields.sql":              "27a3a405c42a4841a7b1c2742a44b406456199235cf4ad36b8bcc6387c459502",
	"0005_settings_and_files.sql":       "74b854a50c1f55c7e061fb453ac64e253b16844932c66c34b34af0a18b53406a",
	"0006_type_relations.sql":           "1326ef27094ab3e1de7c9c6e440d9c7ba80709a0b592cd7b12fa8789906b1a49",
	"0007_drop_type_relations_copy.sql": "802317b142fd5267452823149b1511040cbb572668fdd472c08705cb101eed03",
	"0008_timeline.sql":                 "faa6cfab05f40be4d9c86ec67031f4eaf3f07ced7073496d5a2a41aad9b185d9",
	"0009_activities.sql":               "292577841ef3c61b85497d2b5c98d78c98f68806b3abfbff60a7ae7556161795",
	"0010_tasks.sql":                    "ef91dcf6e141aca20167750894791db263ab988a370c7c3e7778509ce7a75e7a",
	"0011_automation.sql":               "6304af6ccfe6fb2a3ea3fa0bab674ff9db4a2c7b0229146318003f9d9aadff7d",
	"0012_web_ui.sql":                   "3e83946a4f25add673a4aec661aecd5374be53ec754617e7f924b5358f15ecde",
	"0013_admin_ui.sql":                 "116db4670b9b7d1af3d7e1771afed037026f92ad7036a27be3f45fd8e4ae6afc",
	"0014_events.sql":                   "3dc84370e7bb928278f6be608ed2011d7efd7295d3169d889f9b5d01142b5c9b",
	"0015_offline_notifications.sql":    "e816ee21c23bdecacba2f647a1e742c6242f279cf2d38d75296e87b3297206e5",
	"0016_expect_item_version.sql":      "679fb9356917f65183a5f5487a6994d09760ea96ff76db5f948698d544c95253",
	"0017_offline_queue_order.sql":      "a86b7e957a77a93b4609dfb36286781d9183132c06f7b59dae7faa796cd598ac",
	"0018_outbox_payload_text.sql":      "cd03558f5d662b43d9cd8250853c858cde69c49291f0e197a204d78d1a4c29ae",
}

// The embedded migration files are the ones that shipped, byte for byte; a new one
// must be registered before it ships; none may disappear.
func TestMigrationsAreFrozen(t *testing.T) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		src, err := fs.ReadFile(migrationFiles, "migrations/"+e.Name())
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(src)
		got := hex.EncodeToString(sum[:])
		want, shipped := shippedMigrations[e.Name()]
		switch {
		case !shipped:
			t.Errorf("migrations/%s is new: add it to shippedMigrations with its SHA-256 %s (from then on it is frozen)", e.Name(), got)
		case got != want:
			t.Errorf("migrations/%s changed (SHA-256 %s, shipped as %s): migrations are frozen: add a new migration instead", e.Name(), got, want)
		}
		seen[e.Name()] = true
	}
	for name := range shippedMigrations {
		if !seen[name] {
			t.Errorf("migrations/%s has shipped but is gone or renamed: migrations are frozen: add a new migration instead", name)
		}
	}
}
