DROP TABLE login_throttle;
DROP TABLE web_sessions;
