package snippets

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/snippets-mcp/server/internal/storage"
	"github.com/snippets-mcp/server/internal/storage/blobtest"
)

const (
	alice = "11111111-1111-1111-1111-111111111111"
	bob   = "22222222-2222-2222-2222-222222222222"
)

var space = Private("tenant", alice)

// newStore returns a store on a fresh fake with the snippets container.
func newStore(t *testing.T) (*Store, *blobtest.Fake) {
	t.Helper()
	f := blobtest.New(t)
	return storeOn(t, f.ConnString()), f
}

func storeOn(t *testing.T, conn string) *Store {
	t.Helper()
	c, err := storage.Connect(storage.Options{ConnectionString: conn})
	if err != nil {
		t.Fatal(err)
	}
	if err := storage.EnsureContainer(context.Background(), c, Container); err != nil {
		t.Fatal(err)
	}
	return NewStore(c, 1<<10)
}

func mustSave(t *testing.T, s *Store, sp Space, name, content, author string) Snippet {
	t.Helper()
	sn, err := s.Save(context.Background(), sp, name, content, SaveOptions{Author: author})
	if err != nil {
		t.Fatalf("save %q: %v", name, err)
	}
	return sn
}

// plantOnPut replaces the blob with another writer's version when the
// matching PUT arrives (the first n times), before the fake serves it.
func plantOnPut(f *blobtest.Fake, name string, n int, then blobtest.Action) blobtest.Rule {
	left := n
	return func(r *http.Request) blobtest.Fault {
		if r.Method != http.MethodPut || !strings.HasSuffix(r.URL.Path, "/"+name) || left == 0 {
			return blobtest.Fault{}
		}
		left--
		f.Put(Container, space.prefix()+name, []byte("theirs"), map[string]string{metaUpdatedBy: bob, metaWriteID: "other"})
		return blobtest.Fault{Action: then}
	}
}

// TestSaveAnswersAreTrue checks that every definite answer of Save is what
// storage holds afterwards, when replies are lost and the SDK retries.
func TestSaveAnswersAreTrue(t *testing.T) {
	put := blobtest.Match(http.MethodPut, "/"+Container+"/")
	cases := []struct {
		name     string
		existing bool
		rule     func(f *blobtest.Fake) blobtest.Rule
		want     error // nil: saved
	}{
		{"create, reply lost after the write", false, func(*blobtest.Fake) blobtest.Rule { return blobtest.DropAfterApplied(put, 1) }, nil},
		{"update, reply lost after the write", true, func(*blobtest.Fake) blobtest.Rule { return blobtest.DropAfterApplied(put, 1) }, nil},
		{"update, every reply lost after the write", true, func(*blobtest.Fake) blobtest.Rule { return blobtest.DropAfterApplied(put, 3) }, nil},
		{"update, connection dropped before the write, then written", true, func(*blobtest.Fake) blobtest.Rule {
			return counted(put, 1, blobtest.Fault{Action: blobtest.DropFirst})
		}, nil},
		{"another writer between read and write", true, func(f *blobtest.Fake) blobtest.Rule { return plantOnPut(f, "doc", 1, blobtest.Serve) }, ErrConflict},
		{"reply lost, then another writer before the retry", true, func(f *blobtest.Fake) blobtest.Rule {
			lost := blobtest.DropAfterApplied(put, 1)
			plant := plantOnPut(f, "doc", 2, blobtest.Serve)
			n := 0
			return func(r *http.Request) blobtest.Fault {
				if put(r) {
					n++
					if n == 2 {
						return plant(r)
					}
				}
				return lost(r)
			}
		}, ErrAmbiguous},
		{"throttled every time", true, func(*blobtest.Fake) blobtest.Rule { return blobtest.Answer(put, 3, 503, "ServerBusy") }, ErrUnavailable},
		{"refused as forbidden", true, func(*blobtest.Fake) blobtest.Rule { return blobtest.Answer(put, 1, 403, "AuthorizationFailure") }, ErrUnavailable},
		{"timed out in the service every time", true, func(*blobtest.Fake) blobtest.Rule { return blobtest.Answer(put, 3, 500, "OperationTimedOut") }, ErrAmbiguous},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, f := newStore(t)
			if tc.existing {
				mustSave(t, s, space, "doc", "old", alice)
			}
			f.SetRule(tc.rule(f))
			sn, err := s.Save(context.Background(), space, "doc", "mine", SaveOptions{Author: alice})
			f.SetRule(nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Save: got error %v, want %v", err, tc.want)
			}
			got, gerr := s.Get(context.Background(), space, "doc")
			if gerr != nil {
				t.Fatalf("Get after save: %v", gerr)
			}
			switch {
			case tc.want == nil && (got.Content != "mine" || !SameETag(got.ETag, sn.ETag)):
				t.Fatalf("answered saved with etag %s, but storage holds %q with etag %s", sn.ETag, got.Content, got.ETag)
			case errors.Is(tc.want, ErrConflict) && got.Content == "mine":
				t.Fatal("answered conflict, but storage holds this call's content")
			case errors.Is(tc.want, ErrUnavailable) && got.Content == "mine":
				t.Fatal("answered unavailable (not saved), but storage holds this call's content")
			}
		})
	}
}

func counted(match func(*http.Request) bool, n int, f blobtest.Fault) blobtest.Rule {
	return func(r *http.Request) blobtest.Fault {
		if n > 0 && match(r) {
			n--
			return f
		}
		return blobtest.Fault{}
	}
}

func TestSaveRefusals(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	first := mustSave(t, s, space, "doc", "v1", alice)
	shared := Shared("tenant")
	mustSave(t, s, shared, "team", "by bob", bob)
	cases := []struct {
		name    string
		sp      Space
		snippet string
		content string
		opts    SaveOptions
		check   func(error) bool
	}{
		{"empty content", space, "doc", "", SaveOptions{Author: alice}, isInvalid},
		{"blank content", space, "doc", " \n\t", SaveOptions{Author: alice}, isInvalid},
		{"not UTF-8", space, "doc", "\xff", SaveOptions{Author: alice}, isInvalid},
		{"too large", space, "doc", strings.Repeat("x", 1025), SaveOptions{Author: alice}, func(err error) bool {
			var tl *TooLargeError
			return errors.As(err, &tl)
		}},
		{"bad name", space, "../x", "v", SaveOptions{Author: alice}, isInvalid},
		{"stale etag", space, "doc", "v2", SaveOptions{Author: alice, IfMatch: `"0x1"`}, is(ErrConflict)},
		{"etag of a missing snippet", space, "nope", "v2", SaveOptions{Author: alice, IfMatch: first.ETag}, is(ErrNotFound)},
		{"another identity's shared content", shared, "team", "by alice", SaveOptions{Author: alice, KeepOthers: true}, func(err error) bool {
			var oc *OthersContentError
			return errors.As(err, &oc) && oc.Current.UpdatedBy == bob && oc.Current.ETag != ""
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Save(context.Background(), tc.sp, tc.snippet, tc.content, tc.opts)
			if !tc.check(err) {
				t.Fatalf("Save: got %v (%T)", err, err)
			}
		})
	}
	t.Run("own shared content with KeepOthers", func(t *testing.T) {
		if _, err := s.Save(context.Background(), shared, "team", "by bob again", SaveOptions{Author: bob, KeepOthers: true}); err != nil {
			t.Fatalf("bob replacing his own shared snippet: %v", err)
		}
	})
	t.Run("unquoted etag from a listing", func(t *testing.T) {
		cur, err := s.Get(context.Background(), space, "doc")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Save(context.Background(), space, "doc", "v3", SaveOptions{Author: alice, IfMatch: strings.Trim(cur.ETag, `"`)}); err != nil {
			t.Fatalf("save with the unquoted etag: %v", err)
		}
	})
}

func isInvalid(err error) bool {
	var inv *InvalidError
	return errors.As(err, &inv)
}

func is(target error) func(error) bool { return func(err error) bool { return errors.Is(err, target) } }

func TestStorageUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: every attempt is refused before it is sent
	c, err := storage.Connect(storage.Options{ConnectionString: blobtest.ConnString("http://" + addr)})
	if err != nil {
		t.Fatal(err)
	}
	s := NewStore(c, 1<<10)
	cases := []struct {
		name string
		op   func() error
	}{
		{"save", func() error {
			_, err := s.Save(context.Background(), space, "doc", "v", SaveOptions{Author: alice})
			return err
		}},
		{"get", func() error { _, err := s.Get(context.Background(), space, "doc"); return err }},
		{"list", func() error { _, err := s.List(context.Background(), space, "", "", 10); return err }},
		{"delete", func() error { return s.Delete(context.Background(), space, "doc", "") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.op(); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("got %v, want ErrUnavailable", err)
			}
		})
	}
}

func TestDeleteAnswersAreTrue(t *testing.T) {
	del := blobtest.Match(http.MethodDelete, "/"+Container+"/")
	cases := []struct {
		name     string
		rule     func(f *blobtest.Fake) blobtest.Rule
		wantGone bool
		want     error
	}{
		{"plain", func(*blobtest.Fake) blobtest.Rule { return nil }, true, nil},
		{"reply lost after the delete", func(*blobtest.Fake) blobtest.Rule { return blobtest.DropAfterApplied(del, 1) }, true, nil},
		{"changed since the approved version", func(f *blobtest.Fake) blobtest.Rule {
			f.Put(Container, space.prefix()+"doc", []byte("newer"), map[string]string{metaUpdatedBy: alice})
			return nil
		}, false, ErrConflict},
		{"reply lost, then written again before the retry", func(f *blobtest.Fake) blobtest.Rule {
			n := 0
			return func(r *http.Request) blobtest.Fault {
				if !del(r) {
					return blobtest.Fault{}
				}
				if n++; n == 1 {
					return blobtest.Fault{Action: blobtest.DropAfter}
				}
				f.Put(Container, space.prefix()+"doc", []byte("newer"), map[string]string{metaUpdatedBy: bob})
				return blobtest.Fault{}
			}
		}, false, ErrAmbiguous},
		{"throttled every time", func(*blobtest.Fake) blobtest.Rule { return blobtest.Answer(del, 3, 503, "ServerBusy") }, false, ErrUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, f := newStore(t)
			v := mustSave(t, s, space, "doc", "v1", alice)
			f.SetRule(tc.rule(f))
			err := s.Delete(context.Background(), space, "doc", v.ETag)
			f.SetRule(nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Delete: got %v, want %v", err, tc.want)
			}
			_, gerr := s.Get(context.Background(), space, "doc")
			if gone := errors.Is(gerr, ErrNotFound); gone != tc.wantGone {
				t.Fatalf("after Delete: gone = %v, want %v (get: %v)", gone, tc.wantGone, gerr)
			}
		})
	}
}

func TestGetListAndMissing(t *testing.T) {
	t.Parallel()
	s, f := newStore(t)
	for _, n := range []string{"a1", "a2", "b1"} {
		mustSave(t, s, space, n, "content of "+n, alice)
	}
	mustSave(t, s, Private("tenant", bob), "a3", "bob's", bob)
	t.Run("get", func(t *testing.T) {
		sn, err := s.Get(context.Background(), space, "a1")
		if err != nil || sn.Content != "content of a1" || sn.CreatedBy != alice || sn.SHA256 == "" {
			t.Fatalf("Get: got %+v, %v", sn, err)
		}
	})
	t.Run("get missing", func(t *testing.T) {
		if _, err := s.Get(context.Background(), space, "zz"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})
	t.Run("digest mismatch is an outage, not content", func(t *testing.T) {
		f.Put(Container, space.prefix()+"bad", []byte("tampered"), map[string]string{metaSHA256: strings.Repeat("0", 64)})
		if _, err := s.Get(context.Background(), space, "bad"); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("got %v, want ErrUnavailable", err)
		}
	})
	t.Run("list pages within the space", func(t *testing.T) {
		var names []string
		cursor := ""
		for range 5 {
			p, err := s.List(context.Background(), space, "a", cursor, 1)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range p.Items {
				names = append(names, it.Name)
			}
			if cursor = p.NextCursor; cursor == "" {
				break
			}
		}
		if got := strings.Join(names, ","); got != "a1,a2" {
			t.Fatalf("listed %s, want a1,a2", got)
		}
	})
	t.Run("cursors reveal no blob path", func(t *testing.T) {
		p, err := s.List(context.Background(), space, "", "", 1)
		if err != nil || p.NextCursor == "" {
			t.Fatalf("first page: %+v, %v", p, err)
		}
		raw, _ := decodeCursor(p.NextCursor)
		if raw != "a1" || strings.Contains(p.NextCursor, "tenant") || strings.Contains(p.NextCursor, alice) {
			t.Fatalf("cursor %q (%q) reveals more than the last name", p.NextCursor, raw)
		}
	})
	for _, bad := range []string{"t-tenant/u-" + bob + "/a3", "n1.!!", "n1." + "Li4vYQ", encodeCursor("b1")} {
		t.Run("bad cursor "+bad, func(t *testing.T) {
			// The last one is valid, but not for the prefix "a".
			if _, err := s.List(context.Background(), space, "a", bad, 10); !isInvalid(err) {
				t.Fatalf("got %v, want a client mistake", err)
			}
		})
	}
	t.Run("missing container is an outage", func(t *testing.T) {
		f.DeleteContainer(Container)
		if _, err := s.Get(context.Background(), space, "a1"); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("got %v, want ErrUnavailable", err)
		}
	})
}
