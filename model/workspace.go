package model

type workspace struct{}
