-- Two towns, three representatives each, no stations: a store where the index scores can be
-- written down by hand (tests/domain/test_cockpit.py). Only the 活跃指数 has data in both quarters:
-- activities (with headcount) and opinions per representative. 瓜沥镇 T1 leads every one of the
-- three in 2024Q1 (4 activities, 12 人次, 4 opinions vs 2, 6, 2) and trails every one in 2024Q2
-- (the reverse). Two sufficient peers score 25 and 75 (Hazen), so T1's 活跃指数 goes 75 -> 25.
-- 进站接待天数 per station has no stations (样本不足); the other four indices have no data at all
-- (样本不足), and with them the composite (20 % of the weight < 60 %).

INSERT INTO units (unit_id, name, level, parent) VALUES
    ('D0', '区人大代表联络总站', '总站', NULL),
    ('T1', '瓜沥镇', '镇街', 'D0'),
    ('T2', '城厢街道', '镇街', 'D0');

INSERT INTO reps (rep_id, name, rep_level, town) VALUES
    ('R1', '张一', '区', '瓜沥镇'), ('R2', '张二', '区', '瓜沥镇'), ('R3', '张三', '区', '瓜沥镇'),
    ('R4', '李一', '区', '城厢街道'), ('R5', '李二', '区', '城厢街道'), ('R6', '李三', '区', '城厢街道');

INSERT INTO activities (activity_id, date, town, type, headcount) VALUES
    ('A01', '2024-01-10', '瓜沥镇', '走访选民', 3), ('A02', '2024-01-20', '瓜沥镇', '走访选民', 3),
    ('A03', '2024-02-10', '瓜沥镇', '走访选民', 3), ('A04', '2024-02-20', '瓜沥镇', '走访选民', 3),
    ('A05', '2024-01-15', '城厢街道', '走访选民', 3), ('A06', '2024-02-15', '城厢街道', '走访选民', 3),
    ('A07', '2024-04-15', '瓜沥镇', '走访选民', 3), ('A08', '2024-05-15', '瓜沥镇', '走访选民', 3),
    ('A09', '2024-04-10', '城厢街道', '走访选民', 3), ('A10', '2024-04-20', '城厢街道', '走访选民', 3),
    ('A11', '2024-05-10', '城厢街道', '走访选民', 3), ('A12', '2024-05-20', '城厢街道', '走访选民', 3);

INSERT INTO opinions (opinion_id, submitted_at, town, content) VALUES
    ('O01', '2024-01-05 09:00:00', '瓜沥镇', '甲'), ('O02', '2024-01-06 09:00:00', '瓜沥镇', '乙'),
    ('O03', '2024-02-05 09:00:00', '瓜沥镇', '丙'), ('O04', '2024-02-06 09:00:00', '瓜沥镇', '丁'),
    ('O05', '2024-01-05 09:00:00', '城厢街道', '戊'), ('O06', '2024-02-05 09:00:00', '城厢街道', '己'),
    ('O07', '2024-04-05 09:00:00', '瓜沥镇', '庚'), ('O08', '2024-05-05 09:00:00', '瓜沥镇', '辛'),
    ('O09', '2024-04-05 09:00:00', '城厢街道', '壬'), ('O10', '2024-04-06 09:00:00', '城厢街道', '癸'),
    ('O11', '2024-05-05 09:00:00', '城厢街道', '子'), ('O12', '2024-05-06 09:00:00', '城厢街道', '丑');
