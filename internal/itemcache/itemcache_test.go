package itemcache

import "testing"

func key(id int64) Key { return Key{TypeID: 1, EntityTypeID: 1030, ID: id} }

// A later version is never replaced by an earlier one.
func TestKeepsTheLatest(t *testing.T) {
	c := New[string](4)
	c.Put(key(7), 2, "v2")
	c.Put(key(7), 1, "v1") // reported late
	if v, ok := c.Get(key(7)); !ok || v != "v2" {
		t.Fatalf("after v2 then v1: %q %v, want v2", v, ok)
	}
	c.Put(key(7), 3, "v3")
	if v, _ := c.Get(key(7)); v != "v3" {
		t.Fatalf("after v3: %q", v)
	}
	c.Delete(key(7))
	if _, ok := c.Get(key(7)); ok {
		t.Fatal("a deleted item is still kept")
	}
}

// Never more than the bound; the items in use stay while the others go.
func TestKeepsItemsInUseWithinItsBound(t *testing.T) {
	c := New[int64](4)
	for id := int64(1); id <= 100; id++ {
		c.Put(key(id), 1, id)
		// Item 1 is looked up all along: it must survive every generation.
		if v, ok := c.Get(key(1)); !ok || v != 1 {
			t.Fatalf("after %d puts the item in use is gone", id)
		}
		if n := c.Len(); n > 4 {
			t.Fatalf("after %d puts %d kept, want at most 4", id, n)
		}
	}
	if _, ok := c.Get(key(2)); ok {
		t.Fatal("an item nobody touched for a hundred puts is still kept")
	}
	// The latest ones are there.
	if _, ok := c.Get(key(100)); !ok {
		t.Fatal("the item put last is gone")
	}
	// A version check still holds for an item in the old generation.
	c.Put(key(100), 5, 500)
	c.Put(key(101), 1, 101)
	c.Put(key(102), 1, 102)
	c.Put(key(100), 4, 400)
	if v, _ := c.Get(key(100)); v != 500 {
		t.Fatalf("item 100: %d, want the later 500", v)
	}
}

// A burst of up to half the bound — adds, then a move of each in the same order, as an
// import followed by a batch of stage moves does — finds every item of the burst,
// burst after burst.
func TestKeepsAWholeBurst(t *testing.T) {
	c := New[int64](8)
	id := int64(0)
	for burst := range 5 {
		first := id + 1
		for range 4 {
			id++
			c.Put(key(id), 1, id)
		}
		for k := first; k <= id; k++ {
			if _, ok := c.Get(key(k)); !ok {
				t.Fatalf("burst %d: item %d is gone before its move", burst, k)
			}
			c.Put(key(k), 2, k)
		}
	}
}
