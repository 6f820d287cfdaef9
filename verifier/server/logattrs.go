package server

import "log/slog"

const levelInfo = slog.LevelInfo

func strAttr(k, v string) slog.Attr              { return slog.String(k, v) }
func intAttr(k string, v int) slog.Attr          { return slog.Int(k, v) }
func attrStrings(k string, v []string) slog.Attr { return slog.Any(k, v) }
