package attr

import "testing"

// BenchmarkSelect projects a typical user as a list response does.
func BenchmarkSelect(b *testing.B) {
	s, err := New(UserType(customSchema()), GroupType())
	if err != nil {
		b.Fatal(err)
	}
	res := decode(b, bjensen)
	cases := map[string][2][]string{
		"defaults":   {nil, nil},
		"attributes": {{"userName", "name.givenName", enterprise + ":department"}, nil},
		"excluded":   {nil, {"groups", "meta"}},
	}
	for name, c := range cases {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Select(res, s, User, c[0], c[1])
			}
		})
	}
}

// BenchmarkSort sorts 1000 users by userName.
func BenchmarkSort(b *testing.B) {
	s := Default()
	sorter, err := s.SortBy(User, "userName")
	if err != nil {
		b.Fatal(err)
	}
	users := make([]map[string]any, 1000)
	for i := range users {
		users[i] = map[string]any{"userName": string(rune('a'+i%26)) + "user"}
	}
	b.ReportAllocs()
	for b.Loop() {
		sorter.Sort(users, false)
	}
}
