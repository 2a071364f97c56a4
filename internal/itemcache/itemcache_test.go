package itemcache

import "testing"

// A later version is never replaced by an earlier one, and a full cache starts over
// rather than growing.
func TestKeepsTheLatestWithinItsBound(t *testing.T) {
	c := New[string](3)
	k := Key{TypeID: 1, EntityTypeID: 1030, ID: 7}
	c.Put(k, 2, "v2")
	c.Put(k, 1, "v1") // reported late
	if v, ok := c.Get(k); !ok || v != "v2" {
		t.Fatalf("after v2 then v1: %q %v, want v2", v, ok)
	}
	c.Put(k, 3, "v3")
	if v, _ := c.Get(k); v != "v3" {
		t.Fatalf("after v3: %q", v)
	}
	for id := int64(1); id <= 2; id++ {
		c.Put(Key{TypeID: 1, EntityTypeID: 1030, ID: id}, 1, "other")
	}
	if c.Len() != 3 {
		t.Fatalf("%d kept, want 3", c.Len())
	}
	c.Put(Key{TypeID: 1, EntityTypeID: 1030, ID: 99}, 1, "new")
	if c.Len() != 1 {
		t.Fatalf("a full cache kept %d after one more, want 1 (it starts over)", c.Len())
	}
	c.Delete(Key{TypeID: 1, EntityTypeID: 1030, ID: 99})
	if _, ok := c.Get(Key{TypeID: 1, EntityTypeID: 1030, ID: 99}); ok {
		t.Fatal("a deleted item is still kept")
	}
}
