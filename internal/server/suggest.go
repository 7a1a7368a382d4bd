package server

import "github.com/qconnect/qconnect"

// unknownMethodError is the unknownMethod error of a call of group/name,
// which the catalog does not hold. When a method the user may use is close
// to the name (qconnect.Closest over "group/method"), the error's details
// hold one entry "did you mean <group>/<method>?" (PROTOCOL appendix, "Did you mean").
// Only methods the user is entitled to are suggested, so the suggestion
// reveals nothing meta/methods would not.
func (s *Server) unknownMethodError(user, group, name string) error {
	e := qconnect.Errorf(qconnect.CodeUnknownMethod,
		"there is no method %s/%s; list the methods you may call with meta/methods", group, name)
	dir := s.deps.Users.Current()
	var names []string
	for _, m := range s.deps.Catalog.Methods {
		ok := dir.Allowed(user, m.Group, m.Name)
		if m.Publish {
			ok = dir.CanWrite(user, m.Group, m.Name)
		}
		if ok {
			names = append(names, m.FullName())
		}
	}
	if best, ok := qconnect.Closest(group+"/"+name, names); ok {
		e.Details = []string{"did you mean " + best + "?"}
	}
	return e
}
