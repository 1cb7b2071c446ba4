DROP TABLE event_retention;
DROP TABLE events;
