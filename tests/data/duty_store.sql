-- A store small enough to count every representative's duties and points by hand (tests/domain/test_duty.py).
-- Year 2024; the data's latest date is O6, 2024-12-31 (so the whole year is counted).

INSERT INTO reps (rep_id, name, rep_level, town, station, sector) VALUES
    ('R1', '张伟', '区', '瓜沥镇',   '甲村代表联络站', '企业'),
    ('R2', '李娜', '区', '瓜沥镇',   '甲村代表联络站', '干部'),
    ('R3', '王芳', '镇', '瓜沥镇',   NULL,             '农民'),
    ('R4', '王芳', '区', '城厢街道', NULL,             '教育'),  -- a second 王芳, in another town
    ('R5', '陈静', '区', '城厢街道', NULL,             '医卫'),
    ('R6', '=HYPERLINK("x")', '区', '城厢街道', NULL,  '@界别');  -- formula-like text for the xlsx test

INSERT INTO activities (activity_id, date, town, type, participants) VALUES
    ('A01', '2024-01-05', '瓜沥镇',   '进站接待', '张伟、李娜'),
    ('A02', '2024-01-05', '瓜沥镇',   '进站接待', '张伟'),               -- same day: one reception day for 张伟
    ('A03', '2024-02-10', '瓜沥镇',   '进站接待', 'R1;王芳'),            -- R1 by id; 王芳 → R3 (the activity's town)
    ('A04', '2024-03-01', '瓜沥镇',   '视察',     '张伟、王芳、陈静'),   -- 陈静: one 陈静 in the roster → R5
    ('A05', '2024-04-02', '城厢街道', '学习培训', '王芳、陈静、李娜'),   -- 王芳 → R4 here
    ('A06', '2024-05-20', '瓜沥镇',   '主题活动', '张伟'),
    ('A07', '2024-07-15', '瓜沥镇',   '走访选民', '张伟、李娜'),
    ('A08', '2024-08-01', '瓜沥镇',   '执法检查', '李娜'),
    ('A09', '2023-12-30', '瓜沥镇',   '视察',     '张伟'),               -- last year
    ('A10', '2024-10-10', '城厢街道', '列席会议', '陈静');

INSERT INTO suggestions (suggestion_id, session, submitted_at, lead_rep, co_reps, title, answered_at, answer_class) VALUES
    ('S1', '十八届四次', '2024-01-10', 'R1',   '李娜、王芳', '关于甲的建议', '2024-04-01', 'A'),  -- co 王芳 → R3 (lead's town)
    ('S2', '十八届四次', '2024-01-10', '陈静', '张伟',       '关于乙的建议', '2024-07-10', 'B'),
    ('S3', '十八届四次', '2024-06-01', '李娜', NULL,         '关于丙的建议', NULL,         NULL),
    ('S4', '十八届三次', '2023-12-01', 'R1',   NULL,         '关于丁的建议', '2024-02-01', 'A'),  -- led in 2023, answered in 2024
    ('S5', '十八届四次', '2024-03-03', '王芳', '张伟',       '关于戊的建议', NULL,         NULL); -- lead ambiguous: nobody's

INSERT INTO opinions (opinion_id, submitted_at, town, title, content, reception_rep) VALUES
    ('O1', '2024-01-05 09:00:00', '瓜沥镇',   '路灯',   '路灯不亮', '张伟'),
    ('O2', '2024-01-05 10:00:00', '瓜沥镇',   '停车',   '停车难',   '张伟'),
    ('O3', '2024-02-10 09:00:00', '瓜沥镇',   '河道',   '河道脏',   '王芳'),   -- → R3
    ('O4', '2024-05-05 09:00:00', '城厢街道', '学位',   '学位紧',   '王芳'),   -- → R4
    ('O5', '2024-06-06 09:00:00', '瓜沥镇',   '噪声',   '噪声大',   'R2'),
    ('O6', '2024-12-31 09:00:00', '城厢街道', '最晚的', '数据截止', NULL);
