package sqldb

import (
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0002_b.sql":   {Data: []byte("B")},
		"m/0001_a.sql":   {Data: []byte("A")},
		"m/README.txt":   {Data: []byte("ignored")},
		"m/0010_c.sql":   {Data: []byte("C")},
		"bad/x_a.sql":    {Data: []byte("")},
		"dup/01_a.sql":   {Data: []byte("")},
		"dup/1_b.sql":    {Data: []byte("")},
		"zero/0_a.sql":   {Data: []byte("")},
		"empty/notes.md": {Data: []byte("")},
	}
	ms, err := Load(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 || ms[0].Version != 1 || ms[1].Version != 2 || ms[2].Version != 10 || ms[2].SQL != "C" {
		t.Fatalf("Load = %+v", ms)
	}
	for _, dir := range []string{"bad", "dup", "zero", "empty", "missing"} {
		if _, err := Load(fsys, dir); err == nil {
			t.Errorf("Load(%s) succeeded", dir)
		}
	}
}
