package rest

func (s *Server) registerBizproc() {}
